"""SARIF 2.1.0 output for code-review tools."""

from __future__ import annotations

import json

from checker.rules.check import RULES, Finding
from checker.rules.sarif import SARIF_VERSION, to_sarif

FINDINGS = [
    Finding("NS301", "error", "explicit for loop", "broadcast/main.py", 5, 1, "learner-30", cell=0),
    Finding("NS302", "warning", "list comprehension", "a.ipynb", 12, 9, "learner-30", cell=3),
    Finding("NS503", "info", "Net: 1,000 parameters", "model.py", 3, 1, "learner-30"),
    Finding("NS701", "error", "required file missing: notes/", ".", 0, 0, "learner-31"),
]


def test_sarif_log_has_one_run_with_the_rule_catalogue():
    log = to_sarif(FINDINGS, task_name="numpy")
    assert log["version"] == SARIF_VERSION == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(RULES)
    assert all(r["fullDescription"]["text"] and r["defaultConfiguration"]["level"] in ("error", "warning", "note")
               for r in rules)
    assert run["automationDetails"]["id"] == "noshortcut/numpy/"
    json.dumps(log)  # serialisable as is


def test_results_carry_rule_level_and_location():
    results = to_sarif(FINDINGS)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["NS301", "NS302", "NS503", "NS701"]
    assert [r["level"] for r in results] == ["error", "warning", "note", "error"]
    first = results[0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"]["uri"] == "learner-30/broadcast/main.py"
    assert first["region"] == {"startLine": 5, "startColumn": 1}
    assert results[1]["properties"] == {"learner": "learner-30", "cell": 3}
    rules = to_sarif(FINDINGS)["runs"][0]["tool"]["driver"]["rules"]
    assert rules[results[0]["ruleIndex"]]["id"] == "NS301"


def test_submission_level_findings_point_at_the_learner_folder_without_a_region():
    result = to_sarif(FINDINGS)["runs"][0]["results"][3]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "learner-31"
    assert "region" not in location


def test_fingerprints_are_stable_and_distinct():
    a = to_sarif(FINDINGS)["runs"][0]["results"]
    b = to_sarif(list(FINDINGS))["runs"][0]["results"]
    prints = [r["partialFingerprints"]["noshortcutFinding/v1"] for r in a]
    assert prints == [r["partialFingerprints"]["noshortcutFinding/v1"] for r in b]
    assert len(set(prints)) == len(prints)


def test_no_findings_is_a_valid_empty_run():
    assert to_sarif([])["runs"][0]["results"] == []
