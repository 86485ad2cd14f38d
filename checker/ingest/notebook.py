"""The one notebook reader: a Jupyter notebook's JSON -> its cells, its code, its markdown.

Every part of noshortcut that reads a notebook goes through here: ingest (the code cells are
compared, `checker.ingest.round.read_code_file`), the notes reader (the markdown cells,
`checker.ingest.documents`), the rules (`checker lint`, `checker.rules.reader`) and the corpus
(`checker.corpus.sources`). So the scan, the rules and the corpus see the same text of a notebook.

- Cells: nbformat 4 (`cells`) and 3 (`worksheets[].cells`, code in `input`); a cell without a
  `cell_type` is code; a cell that is not a JSON object is passed over but keeps its place in
  the numbering (cell numbers are 1-based positions in the notebook, as Jupyter shows them).
- Outputs are never compared as code. They are read into a view of their own
  (`read_outputs`, `Notebook.outputs`): per code cell, its execution count and its outputs (stream
  text, `text/plain` of results and displays, an error's name and value, images by the sha256 of
  their decoded bytes), for the notebook-output evidence (`checker.code.outputs`). What is read
  is bounded: `defaults.NOTEBOOK_OUTPUT_MAX_CHARS` of text and `defaults.NOTEBOOK_OUTPUT_MAX_IMAGES`
  images per notebook; outputs beyond are counted, not read.
- IPython syntax in code cells (magics `%matplotlib inline`, `%%time`, shell escapes `!pip
  install d2l`, help queries `np.sum?`) is commented out (`# %matplotlib inline`): the joined
  code parses as Python and every line keeps its number, for the scan and the rules alike.
- Code cells are joined with one blank line between them; `cell_lines` holds each code cell's
  first line in that text, so a finding reads "cell 3, line 5".
- Size: the raw JSON may be up to `defaults.NOTEBOOK_MAX_BYTES` (outputs count there); what is
  compared, the code and markdown cells joined, up to `defaults.MAX_FILE_BYTES`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from checker import defaults
from checker.model import CellOutput, CodeCellOutputs, NotebookOutputs

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
    outputs: NotebookOutputs = NotebookOutputs()  # the code cells' execution counts and outputs

    @property
    def markdown(self) -> str:
        """The markdown cells joined with a blank line between them."""
        return "\n\n".join(source for _, source in self.markdown_cells)


def _raw_cells(text: str) -> tuple[list[tuple[int, dict]], str | None]:
    """(cell number, cell JSON object) of every cell of a notebook's JSON, or ([], reason)."""
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
    return [(number, cell) for number, cell in enumerate(cells, start=1) if isinstance(cell, dict)], None


def _cell(number: int, cell: dict) -> Cell:
    src = cell.get("source", cell.get("input", ""))
    if isinstance(src, list):
        src = "".join(map(str, src))
    return Cell(str(cell.get("cell_type", "code")), str(src), number)


def notebook_cells(text: str) -> tuple[list[Cell], str | None]:
    """The cells of a notebook's JSON, or ([], reason) when it is not one."""
    raw, reason = _raw_cells(text)
    return [_cell(number, cell) for number, cell in raw], reason


# Escape sequences of coloured terminals (tracebacks, logging handlers): not part of the text.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# nbformat 3 keeps a result's representations beside its type, under short names
_V3_MIME = {"text": "text/plain", "png": "image/png", "jpeg": "image/jpeg", "svg": "image/svg+xml"}
_V3_KIND = {"pyout": "execute_result", "pyerr": "error"}


def _joined(value: Any) -> str:
    if isinstance(value, list):
        return "".join(map(str, value))
    return value if isinstance(value, str) else ""


def _terminal_text(text: str) -> str:
    """What a terminal shows of `text`: colours removed, and of a line rewritten with carriage
    returns (a progress bar) only its last state."""
    text = _ANSI.sub("", text.replace("\r\n", "\n"))
    if "\r" in text:
        text = "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))
    return text


class _Budget:
    """What is left of a notebook's output caps."""

    def __init__(self) -> None:
        self.chars = defaults.NOTEBOOK_OUTPUT_MAX_CHARS
        self.images = defaults.NOTEBOOK_OUTPUT_MAX_IMAGES


def _image(mime: str, value: Any) -> tuple[str, str, int] | None:
    """(mime, sha256 hex, bytes) of an image representation, None when it cannot be decoded."""
    data = _joined(value)
    if mime.endswith("+xml") or mime.endswith("svg"):
        raw = data.encode("utf-8", "replace")
    else:
        try:
            raw = base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            return None
    return (mime, hashlib.sha256(raw).hexdigest(), len(raw)) if raw else None


def _output(out: dict, budget: _Budget) -> CellOutput | None:
    """One output object read within `budget`, or None when it is over it (counted, not read)."""
    kind = str(out.get("output_type", ""))
    kind = _V3_KIND.get(kind, kind)
    name = ""
    images: list[tuple[str, str, int]] = []
    if kind == "stream":
        name = str(out.get("name") or out.get("stream") or "stdout")
        text = _joined(out.get("text"))
    elif kind == "error":
        name = str(out.get("ename", ""))
        text = f"{name}: {out.get('evalue', '')}" if name else str(out.get("evalue", ""))
    else:
        data = out.get("data")
        if not isinstance(data, dict):  # nbformat 3: the representations sit on the output
            data = {mime: out[key] for key, mime in _V3_MIME.items() if key in out}
        text = _joined(data.get("text/plain"))
        for mime, value in data.items():
            if isinstance(mime, str) and mime.startswith("image/"):
                if budget.images <= 0:
                    return None
                image = _image(mime, value)
                if image is not None:
                    budget.images -= 1
                    images.append(image)
    text = _terminal_text(text)
    if len(text) > budget.chars:
        return None
    budget.chars -= len(text)
    return CellOutput(kind, text, name, tuple(images))


def read_outputs(raw: list[tuple[int, dict]]) -> NotebookOutputs:
    """Every code cell's execution count and outputs, within the notebook's output caps: an
    output over what is left of them is counted (`unread`), not read, and the next ones are
    still read when they fit."""
    budget = _Budget()
    cells = []
    for number, cell in raw:
        if str(cell.get("cell_type", "code")) != "code":
            continue
        count = cell.get("execution_count", cell.get("prompt_number"))
        count = count if isinstance(count, int) and not isinstance(count, bool) else None
        outputs = cell.get("outputs")
        read: list[CellOutput] = []
        unread = 0
        for out in outputs if isinstance(outputs, list) else []:
            item = _output(out, budget) if isinstance(out, dict) else None
            if item is None:
                unread += 1
            else:
                read.append(item)
        cells.append(CodeCellOutputs(number, count, tuple(read), unread))
    return NotebookOutputs(tuple(cells))


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
    raw, reason = _raw_cells(text)
    if reason:
        return None, reason
    cells = [_cell(number, cell) for number, cell in raw]
    code, starts = notebook_code(cells)
    notebook = Notebook(code, starts, tuple((c.number, c.source) for c in cells
                                            if c.kind == "markdown"), outputs=read_outputs(raw))
    size = len(code.encode("utf-8", "replace")) + len(notebook.markdown.encode("utf-8", "replace"))
    if size > defaults.MAX_FILE_BYTES:
        return None, (f"too large: its code and markdown cells hold {size:,} bytes > "
                      f"{defaults.MAX_FILE_BYTES:,} (outputs not counted)")
    return notebook, None
