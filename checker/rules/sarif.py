"""Findings as SARIF 2.1.0, the format code-review tools (GitHub code scanning, VS Code's SARIF
viewer, GitLab) import.

One run, tool `noshortcut`, with the rule catalogue as `tool.driver.rules`. Each result's location
is the file path relative to the round folder (`learner-07/train.py`), so the file opens next to
the submissions; findings about a submission as a whole point at its folder without a region.
SARIF columns are 1-based, like `Finding.col`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from checker import __version__
from checker.task.catalogue import RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
_LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def _rule_descriptor(code: str) -> dict:
    doc = RULES[code]
    return {
        "id": doc.code,
        "name": doc.title,
        "shortDescription": {"text": doc.title.replace("-", " ")},
        "fullDescription": {"text": doc.doc},
        "help": {"text": f"{doc.doc}\n\nExample:\n{doc.example}",
                 "markdown": f"{doc.doc}\n\nExample (`task.toml`, then code):\n\n```\n{doc.example}\n```"},
        "defaultConfiguration": {"level": _LEVELS[doc.severity]},
        "properties": {"taskFileKey": doc.key} if doc.key else {},
    }


def _uri(finding) -> str:
    path = "" if finding.path == "." else finding.path
    parts = [p for p in (finding.learner, path) if p]
    return "/".join(parts) if parts else "."


def _result(finding, rule_index: dict[str, int]) -> dict:
    location: dict = {"artifactLocation": {"uri": _uri(finding)}}
    if finding.line > 0:
        region = {"startLine": finding.line}
        if finding.col > 0:
            region["startColumn"] = finding.col
        location["region"] = region
    fingerprint = hashlib.sha256(
        f"{finding.code}|{finding.learner}|{finding.path}|{finding.message}".encode()
    ).hexdigest()[:32]
    result = {
        "ruleId": finding.code,
        "level": _LEVELS.get(finding.severity, "warning"),
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {"noshortcutFinding/v1": fingerprint},
    }
    if finding.code in rule_index:
        result["ruleIndex"] = rule_index[finding.code]
    properties = {k: v for k, v in (("learner", finding.learner), ("cell", finding.cell)) if v}
    if properties:
        result["properties"] = properties
    return result


def to_sarif(findings: Iterable, task_name: str = "") -> dict:
    """A SARIF 2.1.0 log (as a dict ready for json.dump) holding `findings` and every rule."""
    codes = sorted(RULES)
    rule_index = {code: i for i, code in enumerate(codes)}
    run: dict = {
        "tool": {
            "driver": {
                "name": "noshortcut",
                "version": __version__,
                "rules": [_rule_descriptor(c) for c in codes],
            }
        },
        "results": [_result(f, rule_index) for f in findings],
        "columnKind": "unicodeCodePoints",
    }
    if task_name:
        run["automationDetails"] = {"id": f"noshortcut/{task_name}/"}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
