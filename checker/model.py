"""Plain value types shared by every stage of the pipeline.

Outcomes are values with reasons (DESIGN.md, style): a stage never raises for one bad file, it
returns an `IngestWarning` that ends up in `report.warnings` and in the HTML report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Span:
    """A region of a source text, 1-based lines, 0-based columns, end exclusive (like libCST)."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int


@dataclass(frozen=True)
class IngestWarning:
    """Something skipped or degraded, with the file and a reason a person can act on."""

    path: str  # as the user gave it or relative to the learner folder
    reason: str
    learner: str = ""
    kind: str = "skipped"  # skipped | fallback | decoded | error

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SourceFile:
    """One decoded file of a submission (or of the corpus).

    `text` is what the analysis sees. For notebooks `text` is the code cells joined with one
    blank line between them and `cell_lines` maps each cell to its first line in `text`, so
    evidence can be shown as "cell 3, line 5".
    """

    owner: str  # learner id (folder name) or corpus source id (e.g. "pypi:d2l==1.0.3")
    path: str  # relative to the owner's root, '/'-separated
    text: str
    kind: str = "code"  # code | notes
    encoding: str = "utf-8"
    cell_lines: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.owner}/{self.path}"
