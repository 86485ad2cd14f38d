"""What a rule family sees and returns: the `RuleContext` of one submission and the `Finding`s.

Every family module (checker/rules/imports.py, pretrained.py, ...) imports these and exports one
`check(ctx) -> Iterable[Finding | None]`; checker/rules/check.py runs the families.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import libcst as cst

from checker.model import SourceFile
from checker.task.catalogue import RULES
from checker.rules.names import CodeFile, SubmissionIndex
from checker.task.taskfile import Task

SUBMISSION_PATH = "."  # the path of findings about the submission as a whole (NS401, NS701)


@dataclass(frozen=True)
class Finding:
    """One rule violation (or, for info codes, one observation) at `path:line:col`.

    `line`/`col` are 1-based; 0 means "the whole file / submission". For a notebook, `line` counts
    in its code cells joined (SourceFile.text) and `cell` is the 1-based code cell it falls in.
    """

    code: str
    severity: str  # "error" | "warning" | "info"
    message: str
    path: str  # relative to the learner folder, "." for the whole submission
    line: int = 0
    col: int = 0
    learner: str = ""
    cell: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col} {self.code} {self.message}"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["title"] = RULES[self.code].title if self.code in RULES else ""
        return out


SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


class RuleContext:
    """What every rule family sees: the task, the parsed files and a way to make findings."""

    def __init__(self, task: Task, learner: str, root: Path | None, code: list[CodeFile],
                 notes: list[SourceFile], files: Sequence[SourceFile], index: SubmissionIndex):
        self.task = task
        self.rules = task.rules
        self.learner = learner
        self.root = root
        self.code = code
        self.notes = notes
        self.files = files
        self.index = index

    def enabled(self, code: str) -> bool:
        return self.rules.severity.get(code) != "off"

    def finding(self, code: str, message: str, file: CodeFile | SourceFile | None = None,
                node: cst.CSTNode | None = None, line: int = 0, col: int = 0) -> Finding | None:
        """A finding with the task's severity for `code`; None when the task turned it off."""
        level = self.rules.severity.get(code, RULES[code].severity)
        if level == "off":
            return None
        source = file.source if isinstance(file, CodeFile) else file
        if isinstance(file, CodeFile) and node is not None:
            line, col = file.position(node)
        cell = 0
        if source is not None and source.cell_lines and line:
            cell = bisect.bisect_right(source.cell_lines, line)
        return Finding(code=code, severity=level, message=message,
                       path=source.path if source is not None else SUBMISSION_PATH,
                       line=line, col=col, learner=self.learner, cell=cell)
