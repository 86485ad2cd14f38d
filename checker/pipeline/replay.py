"""Reusing the report of a scan whose inputs have not changed.

Mentors run a round again and again: into another folder for a meeting, from a script every
night, after opening the report on another machine. When nothing the report depends on has
changed, the scan would write the same report.json (apart from its timings and date), the same
pairs.csv and the same pages; this module keeps those files after a scan and writes them again.

What "nothing changed" means is one SHA-256 key over everything a scan reads:
- the round and handout folders: every entry's path and kind, links by their target text (never
  followed, as ingest never follows them), code, notes and zip files by their content, other files
  (checkpoints, data) by size, modification and change time and inode (any write changes the
  change time; reading a dataset on every run would cost more than the scan);
- the task file, the aliases file and another common-code list by content;
- the index folder (corpus, notes corpus, remembered rounds) by every file's stat, its cache
  folder left out;
- the options that shape the report (`ScanConfig.to_dict` and the rest: language, history, LSH
  engine) and which files are written (HTML or not);
- the checker itself: every file of the package by content (code, the shipped common-code list,
  an installed wheel's templates) and of a source checkout's `reports/` (the HTML templates),
  Python's version and the installed distributions' names and versions;
- the environment variables this program or its libraries read for models and devices.

Not reused (a real scan runs): `--retrain` (the re-run is what was asked for), `--round-name` (the
scan writes the round into the index), `--lsh URL` (shared tables whose state is elsewhere),
`--no-cache`, and scans without `-o`.

Entries live in the scan's cache folder (`reports/`), each a folder of the written files and an
`entry.json` with their checksums, written to a temporary folder and renamed into place. An entry
whose files do not match their checksums is removed with a notice and the scan runs. Least recently
used entries go beyond `defaults.REPORT_REPLAY_MAX_BYTES`. Nothing here ever stops a scan: a store
that fails is a notice, and the scan runs as if there were none.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from checker import defaults
from checker.ingest.walk import classify
from checker.pipeline.config import ScanConfig

Notice = Callable[[str], None]

STORE_SUBDIR = "reports"
ENTRY_FILE = "entry.json"
FILES_SUBDIR = "files"
_FORMAT = 1  # bumped when the key's parts or the entry layout change

# environment variables that change what a scan computes (models, devices, thread counts that
# change float sums); the cache's own folder is not one of them
_ENV_PREFIXES = ("NOSHORTCUT_", "HF_", "TRANSFORMERS_", "SENTENCE_TRANSFORMERS_", "TORCH_",
                 "CUDA_", "OMP_", "MKL_")
_ENV_IGNORED = frozenset({defaults.FINGERPRINT_CACHE_ENV})


def why_not_reused(config: ScanConfig, out_dir: Path | None) -> str | None:
    """Why a scan with `config` cannot reuse a stored report (None: it can)."""
    if out_dir is None:
        return "no output folder"
    if config.cache_dir is None:
        return "--no-cache"
    if config.retrain:
        return "--retrain runs the learners' training again"
    if config.round_name:
        return "--round-name writes the round into the index"
    if not isinstance(config.corpus_lsh_engine, str):
        return "the corpus LSH tables are shared (--lsh): their state is not on this machine"
    return None


def scan_key(config: ScanConfig, html: bool) -> str:
    """The SHA-256 (hex) of everything a scan with `config` reads and of the files it writes."""
    digest = hashlib.sha256()

    def part(name: str, value: object) -> None:
        digest.update(json.dumps([name, value], sort_keys=True, default=str).encode())

    part("format", _FORMAT)
    part("config", config.to_dict())
    part("options", {"lang": config.lang, "history": config.history,
                     "aliases": str(config.aliases_path) if config.aliases_path else None,
                     "common_list": str(config.common_list) if config.common_list else None,
                     "lsh_engine": config.corpus_lsh_engine, "html": html})
    part("checker", _package_digest())
    part("python", [sys.version, sys.implementation.name])
    part("distributions", _distributions())
    part("environment", sorted((k, v) for k, v in os.environ.items()
                               if k.startswith(_ENV_PREFIXES) and k not in _ENV_IGNORED))
    part("round", _tree_digest(config.round_dir))
    part("base", _tree_digest(config.base_dir) if config.base_dir else None)
    for name, path in (("task", config.task_path), ("aliases", config.aliases_path),
                       ("common_list", config.common_list)):
        part(name, _file_digest(path) if path else None)
    if config.index_dir is not None:
        cache = Path(config.cache_dir).resolve() if config.cache_dir else None
        part("index", _tree_digest(config.index_dir, by_content=False, skip=cache))
    return digest.hexdigest()


def code_folders() -> list[Path]:
    """The folders of the checker's own files that decide a report: the `checker` package (code,
    data, the templates of an installed wheel) and, in a source checkout, `reports/` beside it
    (the HTML templates and styles: `checker.report.html.pages.templates_dir`)."""
    package = Path(__file__).resolve().parent.parent
    return [folder for folder in (package, package.parent / "reports") if folder.is_dir()]


def _package_digest() -> str:
    """Every file of `code_folders()`, by content."""
    return "".join(_tree_digest(folder, by_content=True, skip_names=frozenset({"__pycache__"}))
                   for folder in code_folders())


def _distributions() -> list[str]:
    """The installed distributions' metadata folder names (name and version) on sys.path."""
    names: set[str] = set()
    for folder in sys.path:
        try:
            names.update(n for n in os.listdir(folder or ".") if n.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    return sorted(names)


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable: {exc.errno}"


def _tree_digest(root: Path, by_content: bool | None = None, skip: Path | None = None,
                 skip_names: frozenset[str] = frozenset()) -> str:
    """SHA-256 (hex) of the tree below `root`, links not followed. `by_content`: True every file
    by content, False every file by its stat, None code/notes/zip files by content and the others
    by stat (see the module's docstring). `skip`: a folder left out (the cache inside an index)."""
    digest = hashlib.sha256()
    stack = [(os.fspath(root), b"")]  # (folder, its path relative to root, as bytes)
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            digest.update(b"unreadable\0" + prefix + f"\0{exc.errno}\n".encode())
            continue
        for entry in entries:
            if entry.name in skip_names:
                continue
            name = prefix + os.fsencode(entry.name)
            try:
                if entry.is_symlink():
                    digest.update(b"L\0" + name + b"\0" + os.fsencode(os.readlink(entry.path)) + b"\n")
                elif entry.is_dir(follow_symlinks=False):
                    if skip is not None and Path(entry.path).resolve() == skip:
                        continue
                    digest.update(b"D\0" + name + b"\n")
                    stack.append((entry.path, name + b"/"))
                elif entry.is_file(follow_symlinks=False):
                    digest.update(b"F\0" + name + b"\0" + _file_signature(entry, by_content) + b"\n")
                else:
                    digest.update(b"O\0" + name + b"\n")
            except OSError as exc:  # gone or unreadable since the listing: the scan will say so
                digest.update(b"E\0" + name + f"\0{exc.errno}\n".encode())
    return digest.hexdigest()


def _file_signature(entry: os.DirEntry, by_content: bool | None) -> bytes:
    stat = entry.stat(follow_symlinks=False)
    if by_content is None:
        by_content = classify(entry.name) != "other" or entry.name.lower().endswith(".zip")
    if by_content and stat.st_size <= defaults.REPORT_REPLAY_CONTENT_MAX_BYTES:
        with open(entry.path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest().encode()
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}:{stat.st_dev}".encode()


@dataclass(frozen=True)
class Reused:
    """A stored report written again: the paths written (in the order the scan wrote them) and
    when the scan that made them ran (UTC, ISO 8601)."""

    written: list[Path]
    created: str


class ReportStore:
    """Stored scan outputs by `scan_key`, in `folder` (the scan's cache folder's `reports/`)."""

    def __init__(self, folder: Path, notice: Notice | None = None,
                 max_bytes: int = defaults.REPORT_REPLAY_MAX_BYTES) -> None:
        self.folder = Path(folder) / STORE_SUBDIR
        self.max_bytes = max_bytes
        self._notice = notice

    def notice(self, message: str) -> None:
        if self._notice is not None:
            self._notice(message)

    def restore(self, key: str, out_dir: Path) -> Reused | None:
        """Write the files stored under `key` into `out_dir` (each replaced atomically; pages of an
        earlier render that the stored report does not have removed, as a render does); None when
        there is no such entry or it is damaged (then removed, with a notice)."""
        from checker.report.writers import atomic_write

        entry_dir = self.folder / key
        try:
            entry = json.loads((entry_dir / ENTRY_FILE).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            return self._damaged(entry_dir, f"{ENTRY_FILE}: {exc}")
        try:
            files = _verified_files(entry_dir, entry)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return self._damaged(entry_dir, str(exc))
        written = []
        for rel, data in files:
            path = Path(out_dir) / rel
            atomic_write(path, data)
            written.append(path)
        if entry.get("html"):
            from checker.report.html.pages import remove_stale_pages

            remove_stale_pages(Path(out_dir), written)
        try:
            os.utime(entry_dir / ENTRY_FILE)  # least recently used goes first
        except OSError:
            pass
        return Reused(written, str(entry.get("created", "")))

    def keep(self, key: str, out_dir: Path, written: list[Path], html: bool) -> None:
        """Store the files a scan just wrote in `out_dir` under `key`; then trim the store."""
        out_dir = Path(out_dir)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=self.folder, prefix=".new-"))
        except OSError as exc:
            self.notice(f"report store {self.folder} cannot be written ({exc}); the next scan of "
                        "this round runs in full")
            return
        try:
            listed, total = [], 0
            for path in written:
                rel = path.relative_to(out_dir).as_posix()
                data = path.read_bytes()
                target = tmp / FILES_SUBDIR / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                listed.append({"path": rel, "bytes": len(data),
                               "sha256": hashlib.sha256(data).hexdigest()})
                total += len(data)
            entry = {"format": _FORMAT, "key": key, "html": html, "bytes": total,
                     "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "files": listed}
            (tmp / ENTRY_FILE).write_text(json.dumps(entry), encoding="utf-8")
            shutil.rmtree(self.folder / key, ignore_errors=True)
            os.replace(tmp, self.folder / key)
        except (OSError, ValueError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            self.notice(f"report store {self.folder} cannot keep this report ({exc}); the next "
                        "scan of this round runs in full")
            return
        self.trim()

    def trim(self) -> None:
        """Remove the least recently used entries beyond `max_bytes` (the newest always stays)."""
        entries = []
        for entry_dir in self.folder.iterdir():
            if entry_dir.name.startswith("."):
                if time.time() - _mtime(entry_dir) > 3600:  # a scan killed while keeping one
                    shutil.rmtree(entry_dir, ignore_errors=True)
                continue
            try:
                size = int(json.loads((entry_dir / ENTRY_FILE).read_bytes()).get("bytes", 0))
            except (OSError, ValueError, AttributeError):
                size = 0
            entries.append((_mtime(entry_dir / ENTRY_FILE), size, entry_dir))
        newest = max((used for used, _, _ in entries), default=0.0)
        total = 0
        for used, size, entry_dir in sorted(entries, reverse=True):
            total += size
            if total > self.max_bytes and used < newest:
                shutil.rmtree(entry_dir, ignore_errors=True)

    def _damaged(self, entry_dir: Path, why: str) -> None:
        self.notice(f"stored report {entry_dir} is damaged ({why}); scanning again")
        shutil.rmtree(entry_dir, ignore_errors=True)
        return None


def _verified_files(entry_dir: Path, entry: dict) -> list[tuple[str, bytes]]:
    """(relative path, bytes) of every file of an entry, each checked against its checksum."""
    if entry.get("format") != _FORMAT:
        raise ValueError(f"format {entry.get('format')!r}, this checker writes {_FORMAT}")
    files = []
    for item in entry["files"]:
        rel = str(item["path"])
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise ValueError(f"{rel}: not a path inside the output folder")
        data = (entry_dir / FILES_SUBDIR / rel).read_bytes()
        if hashlib.sha256(data).hexdigest() != item["sha256"]:
            raise ValueError(f"{rel} does not match its checksum")
        files.append((rel, data))
    if not files:
        raise ValueError("no files")
    return files


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
