"""Small builders shared by the rules tests (not a test module: no test_ prefix)."""

from __future__ import annotations

import textwrap

from checker.model import SourceFile
from checker.rules.check import Finding, check_submission
from checker.task.taskfile import parse_task


def code(path: str, text: str, owner: str = "learner-01") -> SourceFile:
    return SourceFile(owner=owner, path=path, text=textwrap.dedent(text).lstrip("\n"), kind="code")


def notes(path: str, text: str, owner: str = "learner-01") -> SourceFile:
    return SourceFile(owner=owner, path=path, text=textwrap.dedent(text).lstrip("\n"), kind="notes")


def run(rules_toml: str, *files: SourceFile, root=None) -> list[Finding]:
    task = parse_task("[rules]\n" + textwrap.dedent(rules_toml), "task.toml")
    return check_submission(task, list(files), root=root)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]
