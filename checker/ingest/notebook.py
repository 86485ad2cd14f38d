"""The one notebook reader: a Jupyter notebook's JSON -> its cells, its code, its markdown.

Every part of noshortcut that reads a notebook goes through here: ingest (the code cells are
compared, `checker.ingest.round.read_code_file`), the notes reader (the markdown cells,
`checker.ingest.documents`), the rules (`checker lint`, `checker.rules.reader`) and the corpus
(`checker.corpus.sources`). So the scan, the rules and the corpus see the same text of a notebook.

- Cells: nbformat 4 (`cells`) and 3 (`worksheets[].cells`, code in `input`); a cell without a
  `cell_type` is code; a cell that is not a JSON object is passed over but keeps its place in
  the numbering (cell numbers are 1-based positions in the notebook, as Jupyter shows them).
- Outputs (plots, tables, tracebacks) are never read.
- IPython syntax in code cells (magics `%matplotlib inline`, `%%time`, shell escapes `!pip
  install d2l`, help queries `np.sum?`) is commented out (`# %matplotlib inline`): the joined
  code parses as Python and every line keeps its number, for the scan and the rules alike.
- Code cells are joined with one blank line between them; `cell_lines` holds each code cell's
  first line in that text, so a finding reads "cell 3, line 5".
- Size: the raw JSON may be up to `defaults.NOTEBOOK_MAX_BYTES` (outputs count there); what is
  compared, the code and markdown cells joined, up to `defaults.MAX_FILE_BYTES`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import NamedTuple

from checker import defaults

# Notebook lines that are IPython syntax, not Python: magics, shell escapes, help queries.
MAGIC = re.compile(r"^\s*(%|!|\?)|^\s*\w[\w.]*\?\??\s*$")


class Cell(NamedTuple):
    kind: str  # code | markdown | raw | ...
    source: str
    number: int  # 1-based position in the notebook


@dataclass(frozen=True)
class Notebook:
    """What is read of one notebook."""

    code: str  # the code cells joined, IPython lines commented out ("" when there is none)
    cell_lines: list[int]  # each code cell's first line in `code`
    markdown_cells: tuple[tuple[int, str], ...]  # (cell number, source) of each markdown cell
    encoding: str = "utf-8"  # of the notebook file

    @property
    def markdown(self) -> str:
        """The markdown cells joined with a blank line between them."""
        return "\n\n".join(source for _, source in self.markdown_cells)


def notebook_cells(text: str) -> tuple[list[Cell], str | None]:
    """The cells of a notebook's JSON, or ([], reason) when it is not one."""
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], f"not a valid notebook (JSON error at line {exc.lineno}: {exc.msg})"
    except RecursionError:
        return [], "not a valid notebook (JSON nested too deeply)"
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if cells is None and isinstance(nb, dict) and isinstance(nb.get("worksheets"), list):
        cells = [c for ws in nb["worksheets"] if isinstance(ws, dict)  # nbformat 3
                 for c in (ws.get("cells") if isinstance(ws.get("cells"), list) else [])]
    if not isinstance(cells, list):
        return [], "not a valid notebook (no cells)"
    out = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            continue
        src = cell.get("source", cell.get("input", ""))
        if isinstance(src, list):
            src = "".join(map(str, src))
        out.append(Cell(str(cell.get("cell_type", "code")), str(src), number))
    return out, None


def notebook_code(cells: list[Cell]) -> tuple[str, list[int]]:
    """Join code cells into one text (blank line between cells) and each cell's first line.

    IPython-only lines become comments so the text parses and line numbers stay those of the cell.
    """
    parts: list[str] = []
    starts: list[int] = []
    line = 1
    for cell in cells:
        if cell.kind != "code":
            continue
        lines = ["# " + ln if MAGIC.match(ln) else ln for ln in cell.source.split("\n")]
        starts.append(line)
        parts.append("\n".join(lines))
        line += len(lines) + 1
    return "\n\n".join(parts) + ("\n" if parts else ""), starts


def read_notebook(text: str) -> tuple[Notebook | None, str | None]:
    """A decoded notebook's code and markdown, or (None, reason) when it is not a notebook or
    what would be compared is over `defaults.MAX_FILE_BYTES`."""
    cells, reason = notebook_cells(text)
    if reason:
        return None, reason
    code, starts = notebook_code(cells)
    notebook = Notebook(code, starts, tuple((c.number, c.source) for c in cells
                                            if c.kind == "markdown"))
    size = len(code.encode("utf-8", "replace")) + len(notebook.markdown.encode("utf-8", "replace"))
    if size > defaults.MAX_FILE_BYTES:
        return None, (f"too large: its code and markdown cells hold {size:,} bytes > "
                      f"{defaults.MAX_FILE_BYTES:,} (outputs not counted)")
    return notebook, None
