"""Read one learner folder into `SourceFile`s for `checker lint`.

`checker scan` uses the project's shared ingest for whole rounds; `lint` checks a single folder
and needs only what the rules read: `.py` files, notebooks (code cells joined, markdown cells as
notes) and plain-text notes. Undecodable, binary and oversized files become `IngestWarning`s,
never exceptions. Environment folders (venv, .git) are not read: `forbid_files` looks at them on
disk itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from checker import defaults
from checker.ingest.encoding import UndecodableError, decode_bytes
from checker.model import IngestWarning, SourceFile

SKIPPED_DIRS = frozenset((".git", "__pycache__", ".ipynb_checkpoints", "venv", ".venv", "env",
                          "site-packages", "node_modules", ".idea", ".vscode"))
NOTE_SUFFIXES = (".md", ".markdown", ".txt", ".rst")


def _cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def notebook_sources(owner: str, path: str, text: str, encoding: str = "utf-8") -> list[SourceFile]:
    """A notebook's code cells as one code SourceFile (cells joined by a blank line, `cell_lines`
    holding each cell's first line) and its markdown cells as one notes SourceFile.

    Raises ValueError when the text is not notebook JSON.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not notebook JSON: {exc}") from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if cells is None and isinstance(data, dict) and "worksheets" in data:  # nbformat 3
        cells = [c for ws in data["worksheets"] for c in ws.get("cells", [])]
    if not isinstance(cells, list):
        raise ValueError("not notebook JSON: no cells")
    code_parts: list[str] = []
    cell_lines: list[int] = []
    notes_parts: list[str] = []
    line = 1
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        body = _cell_text(cell).rstrip("\n")
        if cell.get("cell_type") == "code":
            cell_lines.append(line)
            code_parts.append(body)
            line += body.count("\n") + 2  # the cell's lines plus one blank separator line
        elif cell.get("cell_type") == "markdown":
            notes_parts.append(body)
    out = [SourceFile(owner, path, "\n\n".join(code_parts) + "\n", kind="code", encoding=encoding,
                      cell_lines=cell_lines)]
    if notes_parts:
        out.append(SourceFile(owner, path, "\n\n".join(notes_parts) + "\n", kind="notes", encoding=encoding))
    return out


def sources_from_text(owner: str, path: str, text: str, encoding: str = "utf-8") -> list[SourceFile]:
    """The SourceFiles the rules see for one decoded file (none for data files such as .csv)."""
    lower = path.lower()
    if lower.endswith(".ipynb"):
        return notebook_sources(owner, path, text, encoding)
    if lower.endswith(".py"):
        return [SourceFile(owner, path, text, kind="code", encoding=encoding)]
    if lower.endswith(NOTE_SUFFIXES) or "." not in Path(path).name:
        return [SourceFile(owner, path, text, kind="notes", encoding=encoding)]
    return []


def read_submission(root: str | Path, owner: str | None = None,
                    max_bytes: int = defaults.MAX_FILE_BYTES) -> tuple[list[SourceFile], list[IngestWarning]]:
    """Every code and notes file under one learner folder, with warnings for what was skipped."""
    base = Path(root)
    learner = owner or base.resolve().name
    files: list[SourceFile] = []
    warnings: list[IngestWarning] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(base).as_posix()
            lower = name.lower()
            wanted = lower.endswith((".py", ".ipynb", *NOTE_SUFFIXES))
            if not wanted:
                continue
            try:
                size = full.stat().st_size
                if size > max_bytes:
                    warnings.append(IngestWarning(rel, f"{size:,} bytes is over the {max_bytes:,}-byte limit", learner))
                    continue
                text, encoding = decode_bytes(full.read_bytes())
            except OSError as exc:
                warnings.append(IngestWarning(rel, f"cannot read: {exc.strerror or exc}", learner, "error"))
                continue
            except UndecodableError as exc:
                warnings.append(IngestWarning(rel, str(exc), learner))
                continue
            try:
                files.extend(sources_from_text(learner, rel, text, encoding))
            except ValueError as exc:
                warnings.append(IngestWarning(rel, str(exc), learner))
    return files, warnings
