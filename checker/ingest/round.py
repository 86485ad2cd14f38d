"""Ingest: a round of submissions -> `Submission`s of decoded files, with warnings, never aborting.

A round is one of:
- a folder whose sub-folders are learners (the folder name is the learner id);
- a folder holding one zip per learner (`learner-07.zip`), possibly mixed with folders;
- a folder with `manifest.csv` (columns `learner,path`; paths relative to the round folder) for
  layouts where files of many learners sit side by side.

Code is `.py` and the code cells of `.ipynb`; notes are the suffixes in `defaults.NOTES_SUFFIXES`
plus the markdown cells of notebooks. Everything else is listed as an "other" file (checkpoints,
plots, data) for the rules, and not read.

A hand-in is hostile until proven otherwise: symbolic links are never followed out of it (a learner
entry of the round that is a link is not read at all), manifest paths must stay inside the round,
zips are extracted within a budget (`defaults.ZIP_MAX_*`), and every code or notes file that is
not compared is named in a warning with its reason.
"""

from __future__ import annotations

import csv
import json
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from checker import defaults
from checker.ingest.encoding import UndecodableError, decode_bytes
from checker.model import IngestWarning, SourceFile

# Folders that never hold a learner's own work, and why (shown when one holds code or notes).
_SKIP_WHY = {
    ".git": "version control", "__pycache__": "Python cache",
    ".ipynb_checkpoints": "notebook autosaves", ".idea": "editor settings",
    ".vscode": "editor settings", "node_modules": "installed packages",
    ".venv": "virtual environment", "venv": "virtual environment", "env": "virtual environment",
    "site-packages": "installed packages",
    "__MACOSX": "",  # macOS zip metadata (`._name` resource forks): never warned about
}
_SKIP_DIRS = frozenset(_SKIP_WHY)
# Looking for a code or notes file inside a skipped folder stops after this many entries.
_SKIPPED_FOLDER_SCAN = 10_000
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
    # files whose place on disk is not `root / path` (a second hand-in merged into this learner)
    located: dict[str, Path] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set, repr=False)  # every path taken, of any kind


def notebook_cells(text: str) -> tuple[list[tuple[str, str]], str | None]:
    """(cell_type, source) pairs of a notebook's JSON, or ([], reason) when it is not one."""
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
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        src = cell.get("source", cell.get("input", ""))
        if isinstance(src, list):
            src = "".join(map(str, src))
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


def _too_large(size: int, limit: int) -> str:
    return f"too large ({size:,} bytes > {limit:,})"


def read_code_file(data: bytes, owner: str, rel: str) -> tuple[SourceFile | None, str | None,
                                                               IngestWarning | None]:
    """Decode one code file. Returns (source, notebook markdown, warning).

    `defaults.MAX_FILE_BYTES` is the limit of what is compared: a `.py` file's bytes, a notebook's
    code and markdown cells joined. A notebook's raw JSON, outputs (plots) included, may be up to
    `defaults.NOTEBOOK_MAX_BYTES`; its outputs are never read.
    """
    notebook = rel.lower().endswith(".ipynb")
    if not data.strip():
        return None, None, IngestWarning(rel, "empty file", owner)
    limit = defaults.NOTEBOOK_MAX_BYTES if notebook else defaults.MAX_FILE_BYTES
    if len(data) > limit:
        return None, None, IngestWarning(rel, _too_large(len(data), limit), owner)
    try:
        text, encoding = decode_bytes(data)
    except UndecodableError as exc:
        return None, None, IngestWarning(rel, str(exc), owner)
    warning = None
    if encoding not in ("utf-8", "utf-8-sig"):
        warning = IngestWarning(rel, f"decoded as {encoding}", owner, kind="decoded")
    if notebook:
        cells, reason = notebook_cells(text)
        if reason:
            return None, None, IngestWarning(rel, reason, owner)
        code, starts = notebook_code(cells)
        markdown = "\n\n".join(src for kind, src in cells if kind == "markdown")
        size = len(code.encode("utf-8", "replace")) + len(markdown.encode("utf-8", "replace"))
        if size > defaults.MAX_FILE_BYTES:
            return None, None, IngestWarning(
                rel, f"too large: its code and markdown cells hold {size:,} bytes > "
                     f"{defaults.MAX_FILE_BYTES:,} (outputs not counted)", owner)
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


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path`, every link resolved, lies inside `folder` (itself resolved)."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a loop of links
        return False


def _first_compared_file(folder: Path) -> str | None:
    """A code or notes file below `folder` (links not followed), as a path relative to it; None
    when there is none among its first `_SKIPPED_FOLDER_SCAN` entries. Notebook autosaves
    (`.ipynb_checkpoints/x-checkpoint.ipynb` beside `x.ipynb`) are copies, not counted."""
    seen = 0
    stack = [folder]
    while stack and seen < _SKIPPED_FOLDER_SCAN:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if entry.is_symlink():
                continue
            if entry.is_dir():
                stack.append(Path(entry.path))
            elif _classify(entry.name) != "other":
                if current.name == ".ipynb_checkpoints":
                    stem, dot, suffix = entry.name.rpartition(".")
                    original = stem.removesuffix("-checkpoint") + dot + suffix
                    if stem.endswith("-checkpoint") and (current.parent / original).exists():
                        continue
                return Path(entry.path).relative_to(folder).as_posix()
    return None


def _walk(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files below `root`, links never followed, and what was not taken with why.

    Links to code, notes or folders are named one by one; links to other files (data, images)
    are not compared anyway and are summed up in one entry.
    """
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    other_links: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError as exc:
            skipped.append((folder, f"folder not readable: {exc.strerror or exc}"))
            continue
        for entry in entries:
            if entry.is_symlink():
                if _classify(entry.name) == "other" and not entry.is_dir():
                    other_links.append(entry)
                    continue
                where = "inside" if _inside(entry, root) else "outside"
                reason = f"symbolic link, not followed (it points {where} the learner's folder)"
                skipped.append((entry, reason))
            elif entry.is_dir():
                if entry.name not in _SKIP_DIRS:
                    stack.append(entry)
                elif _SKIP_WHY[entry.name] and (example := _first_compared_file(entry)):
                    why = _SKIP_WHY[entry.name]
                    reason = (f"folder not compared ({why}), yet it holds code or notes files "
                              f"such as {example}")
                    skipped.append((entry, reason))
            elif entry.is_file():
                files.append(entry)
            else:
                skipped.append((entry, "not a regular file (a pipe, socket or device); not read"))
    if other_links:
        more = f", and {len(other_links) - 1:,} more links to data or other files" \
            if len(other_links) > 1 else ""
        skipped.append((other_links[0], f"symbolic link, not followed{more}"))
    return sorted(files), skipped


def _read_capped(path: Path, limit: int) -> bytes:
    """At most `limit + 1` bytes of `path`, never through a link."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        return fh.read(limit + 1)


def _add_file(sub: Submission, rel: str, path: Path) -> None:
    """`path` as the file `rel` of `sub` (once per path): code is read now, notes later
    (checker.ingest.documents), other files only listed."""
    if rel in sub.seen:
        return
    sub.seen.add(rel)
    kind = _classify(rel)
    if kind == "other":
        sub.other.append(rel)
        return
    if kind == "notes" and not rel.lower().endswith(".ipynb"):
        sub.notes.append(rel)
        return
    limit = defaults.NOTEBOOK_MAX_BYTES if rel.lower().endswith(".ipynb") else defaults.MAX_FILE_BYTES
    try:
        size = path.stat().st_size
        if size > limit:
            sub.warnings.append(IngestWarning(rel, _too_large(size, limit), sub.learner))
            return
        data = _read_capped(path, limit)
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


def _add_tree(sub: Submission, folder: Path, prefix: str = "") -> None:
    """Every file below `folder` into `sub` as `prefix` + its path in `folder`, and a warning
    for everything not taken."""
    files, skipped = _walk(folder)
    for path, reason in skipped:
        rel = path.relative_to(folder).as_posix()
        sub.warnings.append(IngestWarning(prefix + rel if rel != "." else prefix.rstrip("/") or ".",
                                          reason, sub.learner))
    for path in files:
        _add_file(sub, prefix + path.relative_to(folder).as_posix(), path)


def load_folder(root: Path, learner: str) -> Submission:
    """All files below `root` as learner `learner`'s submission."""
    sub = Submission(learner, root)
    _add_tree(sub, root)
    return sub


class _MemberTooLarge(Exception):
    """A zip member gave more bytes than it was allowed to."""


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limit: int) -> int:
    """Stream one member to `target`, never writing more than `limit` bytes; returns the bytes
    written. A member that gives more is removed and raises _MemberTooLarge."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with zf.open(info) as src:
        out = open(target, "xb")  # noqa: SIM115 - removed below when the member fails
        try:
            with out:
                while chunk := src.read(min(1 << 20, limit - written + 1)):
                    written += len(chunk)
                    if written > limit:
                        raise _MemberTooLarge
                    out.write(chunk)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    return written


# What a broken, encrypted or unsupported member raises while it is read.
_MEMBER_ERRORS = (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError,
                  zlib.error, ValueError)


def extract_zip(zip_path: Path, dest: Path, learner: str | None = None, *,
                max_total: int | None = None, max_members: int | None = None,
                max_member: int | None = None, max_ratio: float | None = None,
                ratio_min_bytes: int | None = None) -> list[IngestWarning]:
    """Extract safely: no absolute paths, no `..`, no links, within a budget (`defaults.ZIP_*`
    unless given): at most `max_total` bytes reach the disk whatever the headers say. Code and
    notes go first, so they are out when the budget runs out. Returns warnings for what was not
    extracted; tool folders (`venv/`, `.git/`...) are not extracted, as they would not be read."""
    learner = zip_path.stem if learner is None else learner
    max_total = defaults.ZIP_MAX_TOTAL_BYTES if max_total is None else max_total
    max_members = defaults.ZIP_MAX_MEMBERS if max_members is None else max_members
    max_member = defaults.ZIP_MAX_MEMBER_BYTES if max_member is None else max_member
    max_ratio = defaults.ZIP_MAX_RATIO if max_ratio is None else max_ratio
    ratio_min_bytes = defaults.ZIP_RATIO_MIN_BYTES if ratio_min_bytes is None else ratio_min_bytes
    warnings: list[IngestWarning] = []

    def warn(path: str, reason: str) -> None:
        warnings.append(IngestWarning(path, reason, learner))

    with zipfile.ZipFile(zip_path) as zf:
        members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = []
        names: set[str] = set()
        skipped_folders: dict[str, str] = {}
        for info in zf.infolist():
            name = info.filename
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if name.startswith("/") or ".." in parts or not parts or ":" in parts[0]:
                warn(name, "unsafe path inside zip, not extracted")
                continue
            if info.is_dir():
                continue
            tool = next((i for i, part in enumerate(parts[:-1]) if part in _SKIP_DIRS), None)
            if tool is not None:
                if _SKIP_WHY[parts[tool]] and _classify(name) != "other":
                    skipped_folders.setdefault("/".join(parts[:tool + 1]), "/".join(parts))
                continue
            key = "/".join(parts)
            if key in names:
                warn(name, "the same name twice inside zip; the first one extracted")
                continue
            names.add(key)
            members.append((info, parts))
        for folder, example in skipped_folders.items():
            warn(folder, f"folder not extracted ({_SKIP_WHY[PurePosixPath(folder).name]}), yet it "
                         f"holds code or notes files such as {example}")
        members.sort(key=lambda m: _classify(m[0].filename) == "other")  # stable: zip order kept
        written = 0
        for n, (info, parts) in enumerate(members):
            left = len(members) - n
            if n >= max_members:
                warn(info.filename, f"the zip holds {len(members):,} files, over the limit of "
                                    f"{max_members:,}; the last {left:,} not extracted")
                break
            size = info.file_size
            if size > max_member:
                warn(info.filename, f"too large inside zip ({size:,} bytes > {max_member:,}), "
                                    f"not extracted")
                continue
            if size >= ratio_min_bytes and size > max_ratio * max(info.compress_size, 1):
                ratio = size / max(info.compress_size, 1)
                warn(info.filename, f"packed {ratio:,.0f}:1, over the {max_ratio:,}:1 a real file "
                                    f"reaches (a zip bomb?); extraction stopped, {left:,} files "
                                    f"not extracted")
                break
            if size > max_total - written:
                warn(info.filename, f"over the zip budget of {max_total:,} bytes per learner "
                                    f"({written:,} extracted, this file holds {size:,}); "
                                    f"extraction stopped, {left:,} files not extracted")
                break
            try:
                written += _extract_member(zf, info, dest.joinpath(*parts), size)
            except _MemberTooLarge:
                warn(info.filename, f"holds more than the {size:,} bytes its header says (a zip "
                                    f"bomb?); extraction stopped, {left:,} files not extracted")
                break
            except _MEMBER_ERRORS as exc:
                warn(info.filename, f"not extracted ({type(exc).__name__}: {exc})")
    return warnings


def _single_top_folder(root: Path) -> Path:
    """A zip that wraps everything in one folder (`learner-07/...`) is unwrapped."""
    entries = [e for e in root.iterdir() if e.name not in _SKIP_DIRS]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return root


def _is_report_folder(folder: Path) -> bool:
    """Whether `folder` holds a noshortcut report (`-o` inside the round) and no code."""
    report = folder / "report.json"
    if not (report.is_file() and (folder / "index.html").is_file()) or report.is_symlink():
        return False
    try:
        head = _read_capped(report, 4096)
    except OSError:
        return False
    if b'"schema_version"' not in head or b"noshortcut" not in head:
        return False
    files, _ = _walk(folder)
    return not any(_classify(f.name) == "code" for f in files)


# What a zip that cannot be opened at all raises.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
               RuntimeError, NotImplementedError, zlib.error)


def _load_zip(entry: Path, workdir: Path, round_warnings: list[IngestWarning]) -> Submission | None:
    learner = entry.stem
    dest = workdir / "zips" / entry.name  # the file name: unique in the round, unlike the stem
    try:
        dest.mkdir(parents=True)
        zip_warnings = extract_zip(entry, dest, learner)
    except _ZIP_ERRORS as exc:
        round_warnings.append(IngestWarning(entry.name, f"not a readable zip ({exc})", learner))
        return None
    if not zip_warnings and not any(dest.iterdir()):
        round_warnings.append(IngestWarning(entry.name, "empty zip", learner))
        return None
    sub = load_folder(_single_top_folder(dest), learner)
    sub.warnings[:0] = zip_warnings
    return sub


def _merge(into: Submission, extra: Submission, first: str, second: str) -> None:
    """`extra`, a second hand-in of the same learner, into `into`: a path both have is taken
    once, from the first."""
    learner = into.learner
    into.warnings.append(IngestWarning(
        second, f"a second hand-in of learner {learner!r} besides {first}: both are merged into "
                f"one submission; a file at the same path in both is counted once, from {first}",
        learner))
    into.warnings.extend(extra.warnings)
    code_of = {f.path: f for f in into.code}
    extra_code = {f.path: f for f in extra.code}
    extra_notes = set(extra.notes)
    extra_other = set(extra.other)
    for rel in sorted(extra.seen):
        if rel in into.seen:
            if rel in code_of and rel in extra_code and code_of[rel].text != extra_code[rel].text:
                into.warnings.append(IngestWarning(
                    rel, f"differs between {first} and {second}; only the file in {first} is "
                         f"compared", learner))
            continue
        into.seen.add(rel)
        if extra.root is not None:
            into.located[rel] = extra.located.get(rel, extra.root / rel)
        if rel in extra_code:
            into.code.append(extra_code[rel])
        if rel in extra_notes:
            into.notes.append(rel)
        if rel in extra.notebook_markdown:
            into.notebook_markdown[rel] = extra.notebook_markdown[rel]
        if rel in extra_other:
            into.other.append(rel)


def load_round(round_dir: Path, workdir: Path) -> tuple[list[Submission], list[IngestWarning]]:
    """Every learner of a round. `workdir` receives extracted zips (the caller cleans it).

    Learner ids are unique: two entries of one learner (`dave/` and `dave.zip`) are merged into
    one submission, with a warning. Entries that are links, hidden or tool folders, and folders
    holding a noshortcut report are not learners; they are skipped, with a warning when they
    hold anything that would have been compared.
    """
    round_dir = Path(round_dir)
    if not round_dir.is_dir():
        raise FileNotFoundError(f"{round_dir}: not a folder")
    manifest = round_dir / "manifest.csv"
    if manifest.is_file():
        return _load_manifest(round_dir, manifest)
    warnings: list[IngestWarning] = []
    subs: dict[str, Submission] = {}
    came_from: dict[str, str] = {}  # learner -> the round entry its first hand-in is
    for entry in sorted(round_dir.iterdir()):
        name = entry.name
        is_zip = name.lower().endswith(".zip")
        learner = entry.stem if is_zip else name
        if entry.is_symlink():
            warnings.append(IngestWarning(
                name, "symbolic link, not followed: a hand-in must be a folder or a zip inside "
                      "the round", learner))
            continue
        if entry.is_dir():
            if name.startswith(".") or name in _SKIP_DIRS:
                if _SKIP_WHY.get(name) != "" and (example := _first_compared_file(entry)):
                    warnings.append(IngestWarning(
                        name, f"hidden or tool folder, not read as a learner: its code and notes "
                              f"files (such as {example}) are not compared"))
                continue
            if _is_report_folder(entry):
                warnings.append(IngestWarning(
                    name, "holds a noshortcut report (report.json, index.html), not a learner's "
                          "work: skipped (write reports outside the round)"))
                continue
            sub = load_folder(entry, name)
        elif entry.is_file() and is_zip and not name.startswith("."):
            sub = _load_zip(entry, workdir, warnings)
            if sub is None:
                continue
        elif entry.is_file():
            if not (name.startswith(".") and _classify(name) == "other" and not is_zip):
                warnings.append(IngestWarning(
                    name, "file at the top of the round is not inside a learner folder; skipped"))
            continue
        else:
            warnings.append(IngestWarning(name, "not a regular file or folder; skipped"))
            continue
        if learner in subs:
            _merge(subs[learner], sub, came_from[learner], name)
        else:
            subs[learner] = sub
            came_from[learner] = name
    return list(subs.values()), warnings


def _load_manifest(round_dir: Path, manifest: Path) -> tuple[list[Submission], list[IngestWarning]]:
    """Learners of a `manifest.csv` round: each row names a file or a folder (walked like a
    learner folder) relative to the round folder. Rows that are empty, malformed, repeated, or
    whose path is missing or leads outside the round folder are warnings."""
    warnings: list[IngestWarning] = []
    by_learner: dict[str, Submission] = {}
    owner_of: dict[Path, str] = {}  # each file (links resolved) belongs to one learner
    rows_seen: set[tuple[str, Path]] = set()
    round_real = round_dir.resolve()
    text, _ = decode_bytes(manifest.read_bytes())
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or not {"learner", "path"} <= set(reader.fieldnames):
        raise ValueError(f"{manifest}: needs the columns learner,path (found {reader.fieldnames})")
    for row in reader:
        where = f"manifest.csv line {reader.line_num}"
        learner = (row.get("learner") or "").strip()
        rel = (row.get("path") or "").strip()
        if not learner and not rel:
            if any((v or "").strip() if isinstance(v, str) else v for v in row.values()):
                warnings.append(IngestWarning(where, "row without learner and path; skipped"))
            else:
                warnings.append(IngestWarning(where, "empty row; skipped"))
            continue
        if not learner:
            warnings.append(IngestWarning(rel, f"{where}: no learner; skipped"))
            continue
        sub = by_learner.setdefault(learner, Submission(learner, None))
        if not rel:
            sub.warnings.append(IngestWarning(where, "no path; skipped", learner))
            continue
        if row.get(None):
            sub.warnings.append(IngestWarning(
                rel, f"{where} has more fields than its header (an unquoted comma?); the extra "
                     f"ones are ignored", learner))
        pure = PurePosixPath(rel.replace("\\", "/"))
        shown = pure.as_posix()
        path = round_dir / pure
        if pure.is_absolute() or ".." in pure.parts or not _inside(path, round_real):
            sub.warnings.append(IngestWarning(
                shown, f"{where}: the path leads outside the round folder (an absolute path, `..` "
                       f"or a symbolic link); refused", learner))
            continue
        real = path.resolve()
        if (learner, real) in rows_seen:
            sub.warnings.append(IngestWarning(shown, f"{where} repeats a row; counted once",
                                              learner))
            continue
        rows_seen.add((learner, real))
        if real.is_dir():
            files, skipped = _walk(real)
            for skipped_path, reason in skipped:
                inner = skipped_path.relative_to(real).as_posix()
                sub.warnings.append(IngestWarning(f"{shown}/{inner}", reason, learner))
            items = [(f"{shown}/{f.relative_to(real).as_posix()}", f) for f in files]
        elif real.is_file():
            items = [(shown, real)]
            if shown.lower().endswith(".zip"):
                sub.warnings.append(IngestWarning(
                    shown, f"{where}: a zip named in a manifest is not extracted; name the folder "
                           f"it unpacks to", learner))
        elif not os.path.lexists(path):
            sub.warnings.append(IngestWarning(shown, f"{where}: not found; skipped", learner))
            continue
        else:
            sub.warnings.append(IngestWarning(shown, f"{where}: not a regular file or folder; "
                                                     f"skipped", learner))
            continue
        for item_rel, item in items:
            owner = owner_of.get(item)
            if owner is None:
                owner_of[item] = learner
                _add_file(sub, item_rel, item)
            elif owner != learner:
                sub.warnings.append(IngestWarning(
                    item_rel, f"{where}: the file is listed for learner {owner!r} too; counted "
                              f"for {owner!r} only", learner))
            # else: a file of two overlapping rows of one learner, taken once
    return [by_learner[k] for k in sorted(by_learner)], warnings


def load_base(base_dir: Path) -> tuple[list[SourceFile], list[IngestWarning]]:
    """Handout/starter code: every code file below `base_dir` (owner "base")."""
    sub = load_folder(Path(base_dir), "base")
    return sub.code, sub.warnings
