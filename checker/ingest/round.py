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
import os
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from checker import defaults
from checker.ingest.encoding import UndecodableError, decode_bytes
from checker.ingest.notebook import (
    Notebook,
    notebook_cells,
    notebook_code,
    read_notebook,
)
from checker.ingest.walk import (
    SKIP_DIRS,
    SKIP_WHY,
    classify,
    first_compared_file,
    inside,
    read_capped,
    walk,
)
from checker.model import IngestWarning, SourceFile

__all__ = ["Submission", "extract_zip", "load_base", "load_folder", "load_round",
           "notebook_cells", "notebook_code", "read_code_file"]


@dataclass
class Submission:
    """One learner's hand-in, decoded: every file is read once, here and in
    `checker.ingest.notes.read_notes` (its notes), and handed to every stage from here."""

    learner: str
    root: Path | None  # the folder on disk (extracted for zips); None for manifest rounds
    code: list[SourceFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # paths (relative to root) of notes files
    notebooks: dict[str, Notebook] = field(default_factory=dict)  # path -> what was read of it
    other: list[str] = field(default_factory=list)
    warnings: list[IngestWarning] = field(default_factory=list)
    # files whose place on disk is not `root / path`: every file of a manifest round, and those
    # of a second hand-in merged into this learner
    located: dict[str, Path] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set, repr=False)  # every path taken, of any kind
    # filled by checker.ingest.notes.read_notes (None: not read yet): a NotesDocument per notes
    # file and per notebook with markdown, and the learner's words of each as text lines
    notes_documents: list | None = field(default=None, repr=False)
    notes_text: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def notebook_markdown(self) -> dict[str, str]:
        """Notebook path -> its markdown cells joined, for the notebooks that have any."""
        return {rel: nb.markdown for rel, nb in self.notebooks.items() if nb.markdown.strip()}

    def path_of(self, rel: str) -> Path | None:
        """Where the file `rel` of this submission lies on disk (None when nowhere known)."""
        if rel in self.located:
            return self.located[rel]
        return self.root / rel if self.root is not None else None


def _too_large(size: int, limit: int) -> str:
    return f"too large ({size:,} bytes > {limit:,})"


def _decode_code(data: bytes, owner: str, rel: str) -> tuple[SourceFile | None, Notebook | None,
                                                              IngestWarning | None]:
    """One code file decoded: (source, the notebook when it is one, warning)."""
    is_notebook = rel.lower().endswith(".ipynb")
    if not data.strip():
        return None, None, IngestWarning(rel, "empty file", owner)
    limit = defaults.NOTEBOOK_MAX_BYTES if is_notebook else defaults.MAX_FILE_BYTES
    if len(data) > limit:
        return None, None, IngestWarning(rel, _too_large(len(data), limit), owner)
    try:
        text, encoding = decode_bytes(data)
    except UndecodableError as exc:
        return None, None, IngestWarning(rel, str(exc), owner)
    warning = None
    if encoding not in ("utf-8", "utf-8-sig"):
        warning = IngestWarning(rel, f"decoded as {encoding}", owner, kind="decoded")
    if is_notebook:
        notebook, reason = read_notebook(text)
        if notebook is None:
            return None, None, IngestWarning(rel, reason, owner)
        notebook = replace(notebook, encoding=encoding)
        if not notebook.code.strip():
            return None, notebook, warning
        return (SourceFile(owner, rel, notebook.code, "code", encoding, notebook.cell_lines),
                notebook, warning)
    return SourceFile(owner, rel, text.replace("\r\n", "\n"), "code", encoding), None, warning


def read_code_file(data: bytes, owner: str, rel: str) -> tuple[SourceFile | None, str | None,
                                                               IngestWarning | None]:
    """Decode one code file. Returns (source, notebook markdown, warning).

    `defaults.MAX_FILE_BYTES` is the limit of what is compared: a `.py` file's bytes, a notebook's
    code and markdown cells joined. A notebook's raw JSON, outputs (plots) included, may be up to
    `defaults.NOTEBOOK_MAX_BYTES`; its outputs are not compared as code: they are read into
    their own capped view (`checker.ingest.notebook.read_outputs`).
    """
    source, notebook, warning = _decode_code(data, owner, rel)
    return source, (notebook.markdown if notebook is not None else None), warning


def _add_file(sub: Submission, rel: str, path: Path) -> None:
    """`path` as the file `rel` of `sub` (once per path): code is read now, notes later
    (`checker.ingest.notes.read_notes`), other files only listed."""
    if rel in sub.seen:
        return
    sub.seen.add(rel)
    if sub.root is None:
        sub.located[rel] = path
    kind = classify(rel)
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
        data = read_capped(path, limit)
    except OSError as exc:
        sub.warnings.append(IngestWarning(rel, f"unreadable: {exc.strerror or exc}", sub.learner))
        return
    source, notebook, warning = _decode_code(data, sub.learner, rel)
    if warning:
        sub.warnings.append(warning)
    if source:
        sub.code.append(source)
    if notebook is not None:
        sub.notebooks[rel] = notebook


def _add_tree(sub: Submission, folder: Path, prefix: str = "") -> None:
    """Every file below `folder` into `sub` as `prefix` + its path in `folder`, and a warning
    for everything not taken."""
    files, skipped = walk(folder)
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
            tool = next((i for i, part in enumerate(parts[:-1]) if part in SKIP_DIRS), None)
            if tool is not None:
                if SKIP_WHY[parts[tool]] and classify(name) != "other":
                    skipped_folders.setdefault("/".join(parts[:tool + 1]), "/".join(parts))
                continue
            key = "/".join(parts)
            if key in names:
                warn(name, "the same name twice inside zip; the first one extracted")
                continue
            names.add(key)
            members.append((info, parts))
        for folder, example in skipped_folders.items():
            warn(folder, f"folder not extracted ({SKIP_WHY[PurePosixPath(folder).name]}), yet it "
                         f"holds code or notes files such as {example}")
        members.sort(key=lambda m: classify(m[0].filename) == "other")  # stable: zip order kept
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
    entries = [e for e in root.iterdir() if e.name not in SKIP_DIRS]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return root


def _is_report_folder(folder: Path) -> bool:
    """Whether `folder` holds a noshortcut report (`-o` inside the round) and no code."""
    report = folder / "report.json"
    if not (report.is_file() and (folder / "index.html").is_file()) or report.is_symlink():
        return False
    try:
        head = read_capped(report, 4096)
    except OSError:
        return False
    if b'"schema_version"' not in head or b"noshortcut" not in head:
        return False
    files, _ = walk(folder)
    return not any(classify(f.name) == "code" for f in files)


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
        if rel in extra.notebooks:
            into.notebooks[rel] = extra.notebooks[rel]
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
            if name.startswith(".") or name in SKIP_DIRS:
                if SKIP_WHY.get(name) != "" and (example := first_compared_file(entry)):
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
            if not (name.startswith(".") and classify(name) == "other" and not is_zip):
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
        if pure.is_absolute() or ".." in pure.parts or not inside(path, round_real):
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
            files, skipped = walk(real)
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
