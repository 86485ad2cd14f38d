"""Ingest: a round of submissions -> `Submission`s of decoded files, with warnings, never aborting.

A round is one of:
- a folder whose sub-folders are learners (the folder name is the learner id);
- a folder holding one zip per learner (`learner-07.zip`), possibly mixed with folders;
- a folder with `manifest.csv` (columns `learner,path`; paths relative to the round folder) for
  layouts where files of many learners sit side by side.

Code is `.py` and the code cells of `.ipynb`; notes are the suffixes in `defaults.NOTES_SUFFIXES`
plus the markdown cells of notebooks. Everything else is listed as an "other" file (checkpoints,
plots, data) for the rules, and not read.
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from checker import defaults
from checker.ingest.encoding import UndecodableError, decode_bytes
from checker.model import IngestWarning, SourceFile

# Folders that never hold a learner's own work.
_SKIP_DIRS = frozenset({
    ".git", "__pycache__", ".ipynb_checkpoints", ".idea", ".vscode", "node_modules", ".venv",
    "venv", "env", "site-packages", "__MACOSX",
})
# Notebook lines that are IPython syntax, not Python: magics, shell escapes, help queries.
_MAGIC = re.compile(r"^\s*(%|!|\?)|^\s*\w[\w.]*\?\??\s*$")


@dataclass
class Submission:
    """One learner's hand-in, decoded."""

    learner: str
    root: Path | None  # the folder on disk (extracted for zips); None for manifest rounds
    code: list[SourceFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # paths (relative to root) of notes files
    notebook_markdown: dict[str, str] = field(default_factory=dict)  # notebook path -> markdown
    other: list[str] = field(default_factory=list)
    warnings: list[IngestWarning] = field(default_factory=list)


def notebook_cells(text: str) -> tuple[list[tuple[str, str]], str | None]:
    """(cell_type, source) pairs of a notebook's JSON, or ([], reason) when it is not one."""
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], f"not a valid notebook (JSON error at line {exc.lineno}: {exc.msg})"
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if cells is None and isinstance(nb, dict) and "worksheets" in nb:  # nbformat 3
        cells = [c for ws in nb["worksheets"] for c in ws.get("cells", [])]
    if not isinstance(cells, list):
        return [], "not a valid notebook (no cells)"
    out = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        src = cell.get("source", cell.get("input", ""))
        if isinstance(src, list):
            src = "".join(src)
        out.append((str(cell.get("cell_type", "code")), str(src)))
    return out, None


def notebook_code(cells: list[tuple[str, str]]) -> tuple[str, list[int]]:
    """Join code cells into one text (blank line between cells) and each cell's first line.

    IPython-only lines become comments so the text parses and line numbers stay those of the cell.
    """
    parts: list[str] = []
    starts: list[int] = []
    line = 1
    for kind, src in cells:
        if kind != "code":
            continue
        lines = src.split("\n")
        lines = ["# " + ln if _MAGIC.match(ln) else ln for ln in lines]
        starts.append(line)
        parts.append("\n".join(lines))
        line += len(lines) + 1
    return "\n\n".join(parts) + ("\n" if parts else ""), starts


def read_code_file(data: bytes, owner: str, rel: str) -> tuple[SourceFile | None, str | None,
                                                               IngestWarning | None]:
    """Decode one code file. Returns (source, notebook markdown, warning)."""
    if not data.strip():
        return None, None, IngestWarning(rel, "empty file", owner)
    if len(data) > defaults.MAX_FILE_BYTES:
        return None, None, IngestWarning(
            rel, f"too large ({len(data):,} bytes > {defaults.MAX_FILE_BYTES:,})", owner)
    try:
        text, encoding = decode_bytes(data)
    except UndecodableError as exc:
        return None, None, IngestWarning(rel, str(exc), owner)
    warning = None
    if encoding not in ("utf-8", "utf-8-sig"):
        warning = IngestWarning(rel, f"decoded as {encoding}", owner, kind="decoded")
    if rel.lower().endswith(".ipynb"):
        cells, reason = notebook_cells(text)
        if reason:
            return None, None, IngestWarning(rel, reason, owner)
        code, starts = notebook_code(cells)
        markdown = "\n\n".join(src for kind, src in cells if kind == "markdown")
        if not code.strip():
            return None, markdown, warning
        return SourceFile(owner, rel, code, "code", encoding, starts), markdown, warning
    return SourceFile(owner, rel, text.replace("\r\n", "\n"), "code", encoding), None, warning


def _classify(rel: str) -> str:
    low = rel.lower()
    if low.endswith(defaults.CODE_SUFFIXES):
        return "code"
    if low.endswith(defaults.NOTES_SUFFIXES):
        return "notes"
    return "other"


def _walk(root: Path) -> list[Path]:
    files: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                continue  # never follow links out of a submission
            if entry.is_dir():
                if entry.name not in _SKIP_DIRS:
                    stack.append(entry)
            elif entry.is_file():
                files.append(entry)
    return sorted(files)


def _add_file(sub: Submission, rel: str, read: callable) -> None:
    kind = _classify(rel)
    if kind == "other":
        sub.other.append(rel)
        return
    if kind == "notes" and not rel.lower().endswith(".ipynb"):
        sub.notes.append(rel)
        return
    try:
        data = read()
    except OSError as exc:
        sub.warnings.append(IngestWarning(rel, f"unreadable: {exc.strerror or exc}", sub.learner))
        return
    source, markdown, warning = read_code_file(data, sub.learner, rel)
    if warning:
        sub.warnings.append(warning)
    if source:
        sub.code.append(source)
    if markdown and markdown.strip():
        sub.notebook_markdown[rel] = markdown


def load_folder(root: Path, learner: str) -> Submission:
    """All files below `root` as learner `learner`'s submission."""
    sub = Submission(learner, root)
    for path in _walk(root):
        rel = path.relative_to(root).as_posix()
        _add_file(sub, rel, path.read_bytes)
    return sub


def extract_zip(zip_path: Path, dest: Path) -> list[IngestWarning]:
    """Extract safely: no absolute paths, no `..`, no links; returns warnings for refused members."""
    warnings: list[IngestWarning] = []
    learner = zip_path.stem
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            name = info.filename
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if name.startswith("/") or ".." in parts or not parts:
                warnings.append(IngestWarning(name, "unsafe path inside zip, not extracted", learner))
                continue
            if info.is_dir():
                continue
            if info.file_size > defaults.MAX_FILE_BYTES * 10:
                warnings.append(IngestWarning(name, "too large inside zip, not extracted", learner))
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
    return warnings


def _single_top_folder(root: Path) -> Path:
    """A zip that wraps everything in one folder (`learner-07/...`) is unwrapped."""
    entries = [e for e in root.iterdir() if e.name not in _SKIP_DIRS]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return root


def load_round(round_dir: Path, workdir: Path) -> tuple[list[Submission], list[IngestWarning]]:
    """Every learner of a round. `workdir` receives extracted zips (the caller cleans it)."""
    round_dir = Path(round_dir)
    if not round_dir.is_dir():
        raise FileNotFoundError(f"{round_dir}: not a folder")
    warnings: list[IngestWarning] = []
    manifest = round_dir / "manifest.csv"
    if manifest.is_file():
        return _load_manifest(round_dir, manifest), warnings
    subs: list[Submission] = []
    for entry in sorted(round_dir.iterdir()):
        if entry.name.startswith(".") or entry.name in _SKIP_DIRS:
            continue
        if entry.is_dir():
            subs.append(load_folder(entry, entry.name))
        elif entry.suffix.lower() == ".zip":
            dest = workdir / "zips" / entry.stem
            try:
                zip_warnings = extract_zip(entry, dest)
            except (zipfile.BadZipFile, OSError) as exc:
                warnings.append(IngestWarning(entry.name, f"not a readable zip ({exc})", entry.stem))
                continue
            if not dest.exists():
                warnings.append(IngestWarning(entry.name, "empty zip", entry.stem))
                continue
            sub = load_folder(_single_top_folder(dest), entry.stem)
            sub.warnings[:0] = zip_warnings
            subs.append(sub)
        elif entry.is_file():
            warnings.append(IngestWarning(
                entry.name, "file at the top of the round is not inside a learner folder; skipped"))
    return subs, warnings


def _load_manifest(round_dir: Path, manifest: Path) -> list[Submission]:
    by_learner: dict[str, Submission] = {}
    text, _ = decode_bytes(manifest.read_bytes())
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or not {"learner", "path"} <= set(reader.fieldnames):
        raise ValueError(f"{manifest}: needs the columns learner,path (found {reader.fieldnames})")
    for row in reader:
        learner = (row.get("learner") or "").strip()
        rel = (row.get("path") or "").strip()
        if not learner or not rel:
            continue
        sub = by_learner.setdefault(learner, Submission(learner, None))
        path = (round_dir / rel)
        _add_file(sub, rel, path.read_bytes)
    return [by_learner[k] for k in sorted(by_learner)]


def load_base(base_dir: Path) -> tuple[list[SourceFile], list[IngestWarning]]:
    """Handout/starter code: every code file below `base_dir` (owner "base")."""
    sub = load_folder(Path(base_dir), "base")
    return sub.code, sub.warnings
