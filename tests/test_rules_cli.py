"""`checker rules` and `checker lint`, through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from checker.cli.rules import lint_command, rules_command


def _submission(tmp_path: Path, source: str) -> Path:
    learner = tmp_path / "learner-07"
    learner.mkdir()
    (learner / "main.py").write_text(source, encoding="utf-8")
    return learner


def _task(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "task.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_lint_prints_findings_like_a_linter_and_exits_1_on_errors(tmp_path: Path):
    learner = _submission(tmp_path, "import numpy as np\nfor i in range(3):\n    pass\n")
    task = _task(tmp_path, "[rules]\nforbid_loops = true\n")
    result = CliRunner().invoke(lint_command, [str(learner), "--task", str(task)])
    assert result.exit_code == 1
    assert "main.py:2:1 NS301 explicit for loop at module level" in result.stdout
    assert "1 error(s)" in result.stderr


def test_lint_exits_0_when_only_warnings_and_writes_json_and_sarif(tmp_path: Path):
    learner = _submission(tmp_path, "d = [x for x in range(3)]\n")
    task = _task(tmp_path, "[rules]\nforbid_loops = true\n")
    sarif = tmp_path / "out.sarif"
    result = CliRunner().invoke(lint_command, [str(learner), "--task", str(task), "--format", "json",
                                               "--sarif", str(sarif)])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert [f["code"] for f in doc["findings"]] == ["NS302"]
    assert doc["findings"][0]["learner"] == "learner-07"
    assert json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["results"][0]["ruleId"] == "NS302"


def test_lint_reports_a_bad_task_file_with_its_key(tmp_path: Path):
    learner = _submission(tmp_path, "x = 1\n")
    task = _task(tmp_path, "[rules]\nforbid_loop = true\n")
    result = CliRunner().invoke(lint_command, [str(learner), "--task", str(task)])
    assert result.exit_code == 2  # a bad task file is bad input, not an error finding (1)
    assert "forbid_loop" in result.output and "did you mean 'forbid_loops'" in result.output


def test_rules_lists_every_code_and_details_on_request():
    listing = CliRunner().invoke(rules_command, [])
    assert listing.exit_code == 0 and "NS000" in listing.output and "NS802" in listing.output
    detail = CliRunner().invoke(rules_command, ["ns401"])
    assert "require_layers" in detail.output and "Example:" in detail.output
    bad = CliRunner().invoke(rules_command, ["NS999"])
    assert bad.exit_code == 2 and "unknown rule code" in bad.output


def test_help_texts_have_examples():
    for command in (rules_command, lint_command):
        result = CliRunner().invoke(command, ["--help"])
        assert "Example" in result.output
