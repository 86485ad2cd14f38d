"""The one file walker of a learner's folder, and the one way a learner's file is opened.

Every part of noshortcut that lists or opens the files of a hand-in goes through here: ingest
(`checker.ingest.round`), the notes reader (`checker.ingest.notes`), the file and checkpoint rules
(`checker.rules.files`, `checker.rules.budget`) and the claims of a retrain
(`checker.retrain.claims`). The policy, the same for all of them:

- symbolic links are never followed, to files or to folders, wherever they point; each one is
  reported (links to data or other files summed up in one entry);
- tool folders (`SKIP_DIRS`: `.git`, `venv`, `__pycache__`, `.ipynb_checkpoints`, ...) hold no
  work of the learner and are not entered; one that holds code or notes files is reported.
  A caller that must see them (forbidden files: a `venv/` handed in) passes its own `skip`;
- other folders whose name starts with a dot are walked like any folder: only the round's top
  level treats a dot entry as "not a learner" (`checker.ingest.round.load_round`);
- pipes, sockets and devices are reported, never opened;
- a file is opened with O_NOFOLLOW and read up to a limit (`read_capped`).

The sandbox's scratch copy of a submission (`checker.sandbox.scratch`) has its own link policy
(links inside the folder are recreated as links there) and does not use this walker.
"""

from __future__ import annotations

import os
from pathlib import Path

from checker import defaults

# Folders that never hold a learner's own work, and why (shown when one holds code or notes).
SKIP_WHY = {
    ".git": "version control", "__pycache__": "Python cache",
    ".ipynb_checkpoints": "notebook autosaves", ".idea": "editor settings",
    ".vscode": "editor settings", "node_modules": "installed packages",
    ".venv": "virtual environment", "venv": "virtual environment", "env": "virtual environment",
    "site-packages": "installed packages",
    "__MACOSX": "",  # macOS zip metadata (`._name` resource forks): never warned about
}
SKIP_DIRS = frozenset(SKIP_WHY)
# Looking for a code or notes file inside a skipped folder stops after this many entries.
SKIPPED_FOLDER_SCAN = 10_000


def classify(rel: str) -> str:
    """"code", "notes" or "other" by the file name's suffix (`defaults.CODE_SUFFIXES`, then
    `defaults.NOTES_SUFFIXES`)."""
    low = rel.lower()
    if low.endswith(defaults.CODE_SUFFIXES):
        return "code"
    if low.endswith(defaults.NOTES_SUFFIXES):
        return "notes"
    return "other"


def inside(path: Path, folder: Path) -> bool:
    """Whether `path`, every link resolved, lies inside `folder` (itself resolved)."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a loop of links
        return False


def first_compared_file(folder: Path) -> str | None:
    """A code or notes file below `folder` (links not followed), as a path relative to it; None
    when there is none among its first `SKIPPED_FOLDER_SCAN` entries. Notebook autosaves
    (`.ipynb_checkpoints/x-checkpoint.ipynb` beside `x.ipynb`) are copies, not counted."""
    seen = 0
    stack = [folder]
    while stack and seen < SKIPPED_FOLDER_SCAN:
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
            elif classify(entry.name) != "other":
                if current.name == ".ipynb_checkpoints":
                    stem, dot, suffix = entry.name.rpartition(".")
                    original = stem.removesuffix("-checkpoint") + dot + suffix
                    if stem.endswith("-checkpoint") and (current.parent / original).exists():
                        continue
                return Path(entry.path).relative_to(folder).as_posix()
    return None


def walk(root: Path, *, skip: frozenset[str] = SKIP_DIRS, explain: bool = True,
         limit: int | None = None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files below `root` (sorted), links never followed, and what was not taken with why.

    Links to code, notes or folders are named one by one; links to other files (data, images)
    are not compared anyway and are summed up in one entry. Folders named in `skip` are not
    entered; with `explain`, one that holds code or notes files is named with an example.
    `limit`: stop once more than this many files are listed (a dataset dump).
    """
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    other_links: list[Path] = []
    stack = [root]
    while stack and (limit is None or len(files) <= limit):
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError as exc:
            skipped.append((folder, f"folder not readable: {exc.strerror or exc}"))
            continue
        for entry in entries:
            if entry.is_symlink():
                if classify(entry.name) == "other" and not entry.is_dir():
                    other_links.append(entry)
                    continue
                where = "inside" if inside(entry, root) else "outside"
                reason = f"symbolic link, not followed (it points {where} the learner's folder)"
                skipped.append((entry, reason))
            elif entry.is_dir():
                if entry.name not in skip:
                    stack.append(entry)
                elif explain and SKIP_WHY.get(entry.name) and (
                        example := first_compared_file(entry)):
                    why = SKIP_WHY[entry.name]
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


def read_capped(path: Path, limit: int) -> bytes:
    """At most `limit + 1` bytes of `path`, never through a link (OSError when it is one)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        return fh.read(limit + 1)
