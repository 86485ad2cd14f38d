"""Plain value types shared by every stage of the pipeline, and the one way a file's text is cut
into the numbered lines that spans and fragments refer to (`split_lines`).

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


@dataclass(frozen=True)
class CellOutput:
    """One output of a notebook code cell, as read (`checker.ingest.notebook`).

    `text`: a stream's text, an execute_result's or display_data's `text/plain`, or an error's
    `ename: evalue`; `name`: stdout | stderr for a stream, the exception's name for an error;
    `images`: (mime type, sha256 of the decoded bytes, bytes) of each image the output carries
    (image/png, image/jpeg, image/svg+xml...): plots are compared by hash, never decoded further.
    """

    kind: str  # stream | execute_result | display_data | error
    text: str = ""
    name: str = ""
    images: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class CodeCellOutputs:
    """A notebook code cell's execution count (None: never run) and its outputs."""

    cell: int  # 1-based position in the notebook, as Jupyter shows it
    execution_count: int | None
    outputs: tuple[CellOutput, ...] = ()
    # outputs of this cell counted but not read (over the notebook's output caps)
    unread: int = 0


@dataclass(frozen=True)
class NotebookOutputs:
    """What a notebook's outputs hold, per code cell (`checker.ingest.notebook.read_outputs`)."""

    cells: tuple[CodeCellOutputs, ...] = ()

    @property
    def outputs(self) -> int:
        """Outputs in the notebook, read or not."""
        return sum(len(c.outputs) + c.unread for c in self.cells)

    @property
    def unread(self) -> int:
        """Outputs counted but not read (over `defaults.NOTEBOOK_OUTPUT_MAX_CHARS` or
        `defaults.NOTEBOOK_OUTPUT_MAX_IMAGES`)."""
        return sum(c.unread for c in self.cells)


def split_lines(text: str) -> list[str]:
    """A file's lines as spans and fragments number them: `\n` ends a line (a `\r` before it is
    dropped), and a final line break adds no empty line."""
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]
