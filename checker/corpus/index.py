"""The persistent index of public implementations: build it, grow it, open it fast.

Layout of an index folder (`fingerprints/` by default, or `--index PATH`):

    CURRENT                      {"db": "corpus-<epoch>.sqlite", "schema": N}: the live database
    corpus-<epoch>.sqlite        SQLite (WAL): sources, documents, contents, k-gram frequencies
    downloads/                   wheels and sdists fetched by `pip download` (a cache)
    notes/                       the notes corpus (checker.notes.corpus), when one is handed in
    .lock                        held (flock) by the one process that writes

What SQLite holds (stdlib sqlite3, one file):
- `meta`: schema version, `FingerprintParams`, epoch, generation (bumped by every committed change);
- `sources`: one row per source spec (`pypi:d2l==1.0.3`), with its project, resolved version,
  licence, URL, aliases, origin (manifest | add), content digest, counts and warnings;
- `documents`: (source, path) -> content, with the file's sha256;
- `contents`: one row per distinct file content (sha256 of its bytes), shared by every document
  with those bytes: token count, parser, a packed blob of the k-gram array and per-token line
  spans and function/class units, the MinHash signatures (uint64 matrix, one row for the file
  and one per unit, as `CodeFingerprint.unit_ranges` lists them) and the text (zlib), so that a
  report can show the public side of a match;
- `source_kgrams`: each source's sorted unique k-grams, so that removing it can undo its counts;
- `kgram_df`: per k-gram, the number of distinct *projects* (versions of one package count once)
  containing it: code found in many public implementations (the training loop) is common, a
  fragment found in one is evidence.

Invariants:
- Atomic. Each source is added or removed in one SQLite transaction; a process killed at any
  moment leaves the last committed state, which is a complete index (WAL recovery discards the
  rest). `--rebuild` writes a new database next to the live one and switches `CURRENT` with
  `os.replace` at the end. The LSH is never stored as a separate truth: it is rebuilt from the
  signature matrix at open (measured faster than unpickling; bench/corpus_results.md).
- Incremental. A content already indexed is never fingerprinted again (another version of a
  package shares most files); a source whose files hash to the stored digest is left as it is,
  and a pinned PyPI release already indexed is not even downloaded again.
- Deterministic. Files are processed in path order and sources in manifest order, so an
  interrupted build that is re-run ends in the same index as an uninterrupted one (`digest()`).
- Parameters travel with the index: opening it with other `FingerprintParams` raises
  `ParamsMismatch`, whose message says to rebuild.
- Bounded memory while building: files stream in batches (`defaults.CORPUS_BATCH_FILES`); only the
  current source's unique k-grams are held, never the whole corpus.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import sqlite3
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from checker import defaults
from checker.code.tokens import TokenStream, Unit
from checker.corpus.lsh import BandedLSH, DatasketchLSH, LSHFactory, lsh_factory
from checker.corpus.sources import (FetchFailed, ManifestEntry, SourceError, SourceSpec,
                                    fetch_source, list_source_files, load_manifest, parse_source,
                                    read_source_file)
from checker.code.fingerprints import (CodeFingerprint, FingerprintMap, FingerprintParams,
                                       ParamsMismatch, fingerprint_many, minhash_values_many)

INDEX_SCHEMA_VERSION = 1
Progress = Callable[[str, int, int], None]

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    spec TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    project TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    licence TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    aliases TEXT NOT NULL DEFAULT '[]',
    origin TEXT NOT NULL DEFAULT 'add',
    digest TEXT NOT NULL,
    code_files INTEGER NOT NULL DEFAULT 0,
    notes_files INTEGER NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0,
    archive TEXT NOT NULL DEFAULT '',
    warnings TEXT NOT NULL DEFAULT '[]',
    notes_state TEXT NOT NULL DEFAULT 'pending',
    added_at TEXT NOT NULL
);
CREATE INDEX sources_project ON sources(project);
CREATE TABLE contents (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    n_tokens INTEGER NOT NULL,
    parser TEXT NOT NULL,
    arrays BLOB NOT NULL,
    unit_names TEXT NOT NULL DEFAULT '[]',
    n_signatures INTEGER NOT NULL,
    signatures BLOB NOT NULL,
    text BLOB NOT NULL
);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    content_id INTEGER NOT NULL REFERENCES contents(id),
    bytes INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    cell_lines TEXT NOT NULL DEFAULT '[]',
    UNIQUE (source_id, path)
);
CREATE INDEX documents_content ON documents(content_id);
CREATE TABLE source_kgrams (source_id INTEGER PRIMARY KEY REFERENCES sources(id), kgrams BLOB NOT NULL);
CREATE TABLE kgram_df (kgram INTEGER PRIMARY KEY, projects INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX kgram_df_common ON kgram_df(projects) WHERE projects >= 2;
"""


class CorpusIndexError(RuntimeError):
    """The folder is not a usable index (missing, another schema, locked); says what to do."""


# --- outcomes (values with reasons, shown by the CLI and the bench) ---------------------------


@dataclass(frozen=True)
class SourceAdded:
    spec: str
    version: str
    code_files: int
    new_contents: int  # contents fingerprinted now
    reused_contents: int  # contents already in the index (not re-processed)
    tokens: int
    seconds: float
    replaced: bool = False  # an older state of the same spec was replaced
    warnings: tuple[str, ...] = ()
    status: str = "added"


@dataclass(frozen=True)
class SourceUnchanged:
    spec: str
    reason: str
    status: str = "unchanged"


@dataclass(frozen=True)
class SourceFailed:
    spec: str
    reason: str
    status: str = "failed"


@dataclass(frozen=True)
class SourceRemoved:
    spec: str
    documents: int
    status: str = "removed"


SourceOutcome = SourceAdded | SourceUnchanged | SourceFailed | SourceRemoved


@dataclass
class BuildResult:
    index: Path
    outcomes: list[SourceOutcome] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # index-wide remarks (notes corpus missing...)

    @property
    def failed(self) -> list[SourceFailed]:
        return [o for o in self.outcomes if isinstance(o, SourceFailed)]

    def to_dict(self) -> dict:
        return {"index": str(self.index), "seconds": round(self.seconds, 3), "notes": self.notes,
                "outcomes": [asdict(o) for o in self.outcomes]}


# --- stored values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRecord:
    id: int
    spec: str
    kind: str
    project: str
    version: str
    licence: str
    url: str
    aliases: tuple[str, ...]
    origin: str
    digest: str
    code_files: int
    notes_files: int
    tokens: int
    archive: str
    warnings: tuple[str, ...]
    notes_state: str
    added_at: str

    def to_dict(self) -> dict:
        d = asdict(self)
        d["aliases"], d["warnings"] = list(self.aliases), list(self.warnings)
        return d


@dataclass(frozen=True)
class CorpusDocument:
    """A file of a source, as a corpus match names it."""

    id: int
    source: str  # the spec as given to `corpus add`, e.g. pypi:d2l==1.0.3
    path: str  # inside the source
    content_id: int
    version: str
    licence: str
    url: str
    project: str
    aliases: tuple[str, ...] = ()
    cell_lines: tuple[int, ...] = ()  # notebooks: first line of each code cell in the indexed text


@dataclass
class StoredContent:
    """What alignment and scoring need of a corpus file (no token text: spans and k-grams)."""

    id: int
    sha256: str
    n_tokens: int
    parser: str
    kgrams: np.ndarray  # uint64
    start_lines: np.ndarray  # int32 per token
    end_lines: np.ndarray  # int32 per token
    units: np.ndarray  # int32 (m, 4): start token, end token, start line, end line
    unit_names: list[str]

    def token_stream(self) -> TokenStream:
        """A `TokenStream` with the spans of the stored file, for `score_file_pair` (the tokens
        themselves are not stored: only their number and lines are used)."""
        n = self.n_tokens
        units = [Unit(name, int(u[0]), int(u[1]), int(u[2]), int(u[3]))
                 for name, u in zip(self.unit_names, self.units)]
        return TokenStream([""] * n, self.start_lines.tolist(), [0] * n,
                           self.end_lines.tolist(), [0] * n, self.parser, units=units)


# --- blobs: deterministic packing (np.savez stamps the time into its zip) ----------------------


def pack_arrays(arrays: dict[str, np.ndarray], compress: Sequence[str] = ()) -> bytes:
    """Arrays -> bytes: a JSON header, then each array's raw bytes (zlib for `compress`).

    Hashes of k-grams are random and do not compress; line numbers compress ~5x."""
    header, payload = [], []
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        raw = arr.tobytes()
        zipped = name in compress
        data = zlib.compress(raw, 1) if zipped else raw
        header.append({"name": name, "dtype": arr.dtype.str, "shape": list(arr.shape),
                       "z": zipped, "n": len(data)})
        payload.append(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    return len(head).to_bytes(4, "little") + head + b"".join(payload)


def unpack_arrays(blob: bytes) -> dict[str, np.ndarray]:
    size = int.from_bytes(blob[:4], "little")
    header = json.loads(blob[4:4 + size])
    out, pos = {}, 4 + size
    for item in header:
        data = blob[pos:pos + item["n"]]
        pos += item["n"]
        if item["z"]:
            data = zlib.decompress(data)
        out[item["name"]] = np.frombuffer(data, dtype=np.dtype(item["dtype"])).reshape(item["shape"])
    return out


def _as_int64(kgrams: np.ndarray) -> np.ndarray:
    """SQLite integers are signed: store uint64 k-grams by their bit pattern."""
    return np.ascontiguousarray(kgrams, dtype=np.uint64).view(np.int64)


# --- opening ---------------------------------------------------------------------------------


def default_index_path() -> Path:
    """`$NOSHORTCUT_INDEX`, else `defaults.DEFAULT_INDEX_DIR` (fingerprints/)."""
    return Path(os.environ.get(defaults.CORPUS_INDEX_ENV) or defaults.DEFAULT_INDEX_DIR)


def _connect(db: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False)
    else:
        conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a killed process loses nothing committed (only power loss can
        # roll back the last transactions, never corrupt)
        conn.execute("PRAGMA synchronous=NORMAL")
        # a large source's transaction grows the WAL file; truncate it back after checkpoints
        conn.execute("PRAGMA journal_size_limit=67108864")
    conn.execute("PRAGMA busy_timeout=60000")
    return conn


def _read_current(path: Path) -> dict | None:
    current = path / "CURRENT"
    try:
        data = json.loads(current.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise CorpusIndexError(f"{current}: unreadable ({exc}); rebuild the index with "
                               "`checker corpus build --rebuild`") from None
    if data.get("schema") != INDEX_SCHEMA_VERSION:
        raise CorpusIndexError(
            f"{path}: index schema {data.get('schema')!r}, this checker reads "
            f"{INDEX_SCHEMA_VERSION}; rebuild it with `checker corpus build --rebuild --index {path}`")
    return data


def _write_current(path: Path, db_name: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path, prefix=".CURRENT.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"db": db_name, "schema": INDEX_SCHEMA_VERSION}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path / "CURRENT")


def _create_db(path: Path, params: FingerprintParams) -> str:
    epoch = uuid.uuid4().hex[:12]
    name = f"corpus-{epoch}.sqlite"
    conn = _connect(path / name)
    try:
        conn.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
        conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", [
            ("schema", str(INDEX_SCHEMA_VERSION)), ("params", json.dumps(params.to_dict())),
            ("epoch", epoch), ("generation", "0")])
    finally:
        conn.close()
    return name


class CorpusIndex:
    """A read view of an index. Open with `CorpusIndex.open(path, params)`."""

    def __init__(self, path: Path, db_name: str, conn: sqlite3.Connection) -> None:
        self.path = Path(path)
        self.db_name = db_name
        self._conn = conn
        # one read transaction for the life of the view: every read sees the same committed
        # state even while a build commits sources (WAL keeps that snapshot)
        conn.execute("BEGIN")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        self.params = FingerprintParams(**json.loads(meta["params"]))
        self.epoch = meta["epoch"]
        self.generation = int(meta["generation"])
        self._lsh: dict[float, tuple] = {}
        self._content_cache: dict[int, StoredContent] = {}
        self._docs_by_content: dict[int, list[CorpusDocument]] | None = None

    # opening ---------------------------------------------------------------------------------
    @staticmethod
    def exists(path: Path | str) -> bool:
        """Does `path` hold a corpus index (a notes-only index folder does not)?"""
        return (Path(path) / "CURRENT").is_file()

    @classmethod
    def open(cls, path: Path | str | None = None, params: FingerprintParams | None = None) -> "CorpusIndex":
        """Open an existing index read-only. `params`: the parameters of this run; an index
        built with others raises `ParamsMismatch` (rebuild it, or run with its parameters)."""
        path = Path(path) if path is not None else default_index_path()
        current = _read_current(path)
        if current is None:
            raise CorpusIndexError(f"{path}: no corpus index here; build one with "
                                   f"`checker corpus build --index {path}` or "
                                   f"`checker corpus add SOURCE --index {path}`")
        db = path / current["db"]
        if not db.is_file():
            raise CorpusIndexError(f"{db}: the database CURRENT names is missing; rebuild with "
                                   f"`checker corpus build --rebuild --index {path}`")
        try:
            conn = _connect(db, readonly=not os.access(path, os.W_OK))
            index = cls(path, current["db"], conn)
        except sqlite3.DatabaseError as exc:
            raise CorpusIndexError(f"{db}: not a readable corpus database ({exc}); rebuild with "
                                   f"`checker corpus build --rebuild --index {path}`") from None
        if params is not None:
            params.check_compatible(index.params, f"corpus index {path}")
        return index

    def close(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        self._conn.close()

    def __enter__(self) -> "CorpusIndex":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # sources and documents ------------------------------------------------------------------------
    def sources(self) -> list[SourceRecord]:
        rows = self._conn.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources ORDER BY id").fetchall()
        return [_source_record(r) for r in rows]

    def source(self, spec: str) -> SourceRecord | None:
        row = self._conn.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE spec = ?",
                                 (spec,)).fetchone()
        return _source_record(row) if row else None

    def documents_for_content(self, content_id: int) -> list[CorpusDocument]:
        """Every (source, path) whose file has this content (usually one)."""
        if self._docs_by_content is None:
            by: dict[int, list[CorpusDocument]] = {}
            for row in self._conn.execute(
                    "SELECT d.id, s.spec, d.path, d.content_id, s.version, s.licence, s.url, "
                    "s.project, s.aliases, d.cell_lines FROM documents d JOIN sources s "
                    "ON s.id = d.source_id ORDER BY s.id, d.path"):
                doc = CorpusDocument(*row[:8], tuple(json.loads(row[8])), tuple(json.loads(row[9])))
                by.setdefault(doc.content_id, []).append(doc)
            self._docs_by_content = by
        return self._docs_by_content.get(content_id, [])

    def content(self, content_id: int) -> StoredContent:
        cached = self._content_cache.pop(content_id, None)
        if cached is not None:  # least recently used first: re-insert at the end
            self._content_cache[content_id] = cached
            return cached
        row = self._conn.execute("SELECT id, sha256, n_tokens, parser, arrays, unit_names "
                                 "FROM contents WHERE id = ?", (content_id,)).fetchone()
        if row is None:
            raise KeyError(f"no content {content_id} in {self.path}")
        arrays = unpack_arrays(row[4])
        stored = StoredContent(row[0], row[1], row[2], row[3], arrays["kgrams"],
                               arrays["start_lines"], arrays["end_lines"],
                               arrays["units"].reshape(-1, 4), json.loads(row[5]))
        if len(self._content_cache) >= defaults.CORPUS_CONTENT_CACHE:
            self._content_cache.pop(next(iter(self._content_cache)))
        self._content_cache[content_id] = stored
        return stored

    def text(self, content_id: int) -> str:
        """The code text of a corpus file as it was indexed (notebooks: their code cells), whose
        lines the fragments' right-side line numbers refer to."""
        row = self._conn.execute("SELECT text FROM contents WHERE id = ?", (content_id,)).fetchone()
        if row is None:
            raise KeyError(f"no content {content_id} in {self.path}")
        return zlib.decompress(row[0]).decode("utf-8")

    # signatures and the LSH -------------------------------------------------------------------------
    def signatures(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys, matrix): keys[i] = (content id, range index; 0 is the whole file), matrix[i]
        the MinHash hash values (uint64, num_perm columns) of that range."""
        keys, blocks = [], []
        num_perm = self.params.num_perm
        for cid, n, blob in self._conn.execute(
                "SELECT id, n_signatures, signatures FROM contents WHERE n_signatures > 0 ORDER BY id"):
            blocks.append(np.frombuffer(blob, dtype=np.uint64).reshape(n, num_perm))
            keys.append(np.column_stack([np.full(n, cid, dtype=np.int64), np.arange(n, dtype=np.int64)]))
        if not blocks:
            return np.empty((0, 2), dtype=np.int64), np.empty((0, num_perm), dtype=np.uint64)
        return np.concatenate(keys), np.concatenate(blocks)

    def lsh(self, threshold: float = defaults.CORPUS_LSH_THRESHOLD,
            engine: str | LSHFactory = defaults.CORPUS_LSH_ENGINE):
        """(lsh, keys, matrix): an `LSHIndex` over the stored signatures whose `query(hashvalues)`
        gives row numbers of `keys`/`matrix`; built on first use and kept for the life of this object.

        engine: a name of `checker.corpus.lsh.LSH_ENGINES`, "banded" (MinHashLSH's banding with
        datasketch's (b, r), as sorted numpy columns; opens in ~0.1 s) or "datasketch" (a datasketch
        MinHashLSH filled from the matrix: seconds and ~20 KiB per key; bench/corpus_results.md), or
        an `LSHFactory` handed in, e.g. the shared tables `checker lsh-sync` pushed from this index
        (checker.scale.redis.RedisLSHEngine, built by `scan --lsh URL`; refused when they hold
        another state of it). All return the same candidates."""
        cache_key = (threshold, engine)
        if cache_key not in self._lsh:
            make = lsh_factory(engine)
            keys, matrix = self.signatures()
            self._lsh[cache_key] = (make(self, keys, matrix, threshold), keys, matrix)
        return self._lsh[cache_key]

    # k-gram frequencies ------------------------------------------------------------------------------
    def projects(self) -> int:
        """Distinct projects in the corpus (versions and re-packagings of one count once)."""
        return self._conn.execute("SELECT COUNT(DISTINCT project) FROM sources").fetchone()[0]

    def common_threshold(self) -> int:
        """Projects a k-gram must be found in to be common: at least CORPUS_COMMON_PROJECTS and
        more than CORPUS_COMMON_SHARE of the corpus's projects (grows with the corpus)."""
        return max(defaults.CORPUS_COMMON_PROJECTS,
                   math.floor(defaults.CORPUS_COMMON_SHARE * self.projects()) + 1)

    def common_kgrams(self, min_projects: int | None = None,
                      among: np.ndarray | None = None) -> np.ndarray:
        """K-grams found in at least `min_projects` distinct public projects (default
        `common_threshold()`), sorted uint64: code common to public implementations (boilerplate,
        the standard training loop), to be ignored like handout code.

        `among`: only those of these k-grams (e.g. the round's), which keeps the answer small."""
        min_projects = self.common_threshold() if min_projects is None else int(min_projects)
        if min_projects < 2:
            raise ValueError(f"min_projects must be >= 2 (one project is not 'common'), got {min_projects}")
        # the partial index's own condition, literally, lets SQLite use it (projects >= 2)
        rows = self._conn.execute(
            "SELECT kgram FROM kgram_df WHERE projects >= 2 AND projects >= ?", (min_projects,)).fetchall()
        common = np.sort(np.array([r[0] for r in rows], dtype=np.int64).view(np.uint64))
        if among is not None:
            common = np.intersect1d(common, np.asarray(among, dtype=np.uint64))
        return common

    def kgram_projects(self, kgrams: np.ndarray) -> np.ndarray:
        """For each k-gram, in how many projects of the corpus it occurs (0 when in none)."""
        kg = np.asarray(kgrams, dtype=np.uint64)
        uniq, inverse = np.unique(kg, return_inverse=True)
        counts = np.zeros(len(uniq), dtype=np.int64)
        values = _as_int64(uniq).tolist()
        for start in range(0, len(values), 900):
            chunk = values[start:start + 900]
            marks = ",".join("?" * len(chunk))
            found = dict(self._conn.execute(
                f"SELECT kgram, projects FROM kgram_df WHERE kgram IN ({marks})", chunk).fetchall())
            counts[start:start + len(chunk)] = [found.get(v, 0) for v in chunk]
        return counts[inverse]

    # summaries ---------------------------------------------------------------------------------------
    def stats(self) -> dict:
        q = self._conn.execute
        return {
            "sources": q("SELECT COUNT(*) FROM sources").fetchone()[0],
            "documents": q("SELECT COUNT(*) FROM documents").fetchone()[0],
            "contents": q("SELECT COUNT(*) FROM contents").fetchone()[0],
            "tokens": q("SELECT COALESCE(SUM(n_tokens), 0) FROM contents").fetchone()[0],
            "signatures": q("SELECT COALESCE(SUM(n_signatures), 0) FROM contents").fetchone()[0],
            "distinct_kgrams": q("SELECT COUNT(*) FROM kgram_df").fetchone()[0],
            "bytes_on_disk": sum(p.stat().st_size for p in self.path.glob(self.db_name + "*")),
            "params": self.params.to_dict(),
            "generation": self.generation,
        }

    def digest(self) -> str:
        """A hash of everything the index holds, independent of row ids, timestamps and storage
        layout: two builds of the same sources with the same parameters have the same digest."""
        return index_digest(self._conn)


_SOURCE_COLUMNS = ("id, spec, kind, project, version, licence, url, aliases, origin, digest, "
                   "code_files, notes_files, tokens, archive, warnings, notes_state, added_at")


def _source_record(row) -> SourceRecord:
    values = list(row)
    values[7] = tuple(json.loads(values[7]))
    values[14] = tuple(json.loads(values[14]))
    return SourceRecord(*values)


def index_digest(conn: sqlite3.Connection) -> str:
    h = hashlib.sha256()

    def feed(rows: Iterable) -> None:
        for row in rows:
            for value in row:
                data = value if isinstance(value, bytes) else str(value).encode()
                h.update(len(data).to_bytes(8, "little"))
                h.update(data)

    feed(conn.execute("SELECT key, value FROM meta WHERE key IN ('schema', 'params') ORDER BY key"))
    feed(conn.execute("SELECT spec, kind, project, version, licence, url, aliases, origin, digest, "
                      "code_files, notes_files, tokens, archive, warnings FROM sources ORDER BY spec"))
    feed(conn.execute("SELECT s.spec, d.path, d.sha256, c.sha256, d.bytes, d.lines, d.cell_lines "
                      "FROM documents d JOIN sources s ON s.id = d.source_id "
                      "JOIN contents c ON c.id = d.content_id ORDER BY s.spec, d.path"))
    feed(conn.execute("SELECT sha256, n_tokens, parser, arrays, unit_names, n_signatures, signatures, "
                      "text FROM contents ORDER BY sha256"))
    feed(conn.execute("SELECT s.spec, k.kgrams FROM source_kgrams k JOIN sources s "
                      "ON s.id = k.source_id ORDER BY s.spec"))
    feed(conn.execute("SELECT kgram, projects FROM kgram_df ORDER BY kgram"))
    return h.hexdigest()


# --- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRequest:
    """A source to add, with what the manifest (or the command line) says about it."""

    spec: SourceSpec
    licence: str = ""
    url: str = ""
    aliases: tuple[str, ...] = ()
    origin: str = "add"  # manifest | add
    project: str = ""  # default: the spec's own project (the package, the repository)

    @classmethod
    def from_entry(cls, entry: ManifestEntry) -> "SourceRequest":
        return cls(entry.spec, entry.licence, entry.url, entry.aliases, "manifest", entry.project)

    @property
    def project_id(self) -> str:
        return self.project or self.spec.project


@contextlib.contextmanager
def _write_lock(path: Path) -> Iterator[None]:
    """One writer per index (other processes wait); readers never wait (SQLite WAL)."""
    path.mkdir(parents=True, exist_ok=True)
    with open(path / ".lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            deadline = time.monotonic() + defaults.CORPUS_LOCK_WAIT_S
            while True:
                time.sleep(0.2)
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise CorpusIndexError(
                            f"{path}: another process is writing this index (waited "
                            f"{defaults.CORPUS_LOCK_WAIT_S:.0f} s); try again when it is done") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _remove_orphans(path: Path, live: str | None) -> None:
    """Databases of interrupted rebuilds (not named by CURRENT) are deleted by the next writer."""
    for db in path.glob("corpus-*.sqlite*"):
        base = db.name.split(".sqlite")[0] + ".sqlite"
        if base != live:
            db.unlink(missing_ok=True)


class _Writer:
    """Adds and removes sources of one database, one transaction per source."""

    def __init__(self, path: Path, db_name: str, params: FingerprintParams, jobs: int,
                 cache_dir: Path, progress: Progress | None, notes: "_NotesHandOff",
                 fingerprint_map: FingerprintMap | None = None) -> None:
        self.path = path
        self.fingerprint_map = fingerprint_map  # fingerprint_many's `map` (None: process pool)
        self.conn = _connect(path / db_name)
        self.params = params
        self.jobs = jobs
        self.cache_dir = cache_dir
        self.progress = progress
        self.notes = notes

    def close(self) -> None:
        self.conn.close()

    def _bump_generation(self) -> None:
        self.conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    # adding ------------------------------------------------------------------------------------
    def add(self, request: SourceRequest) -> SourceOutcome:
        spec = request.spec
        started = time.perf_counter()
        row = self.conn.execute("SELECT id, digest, notes_state, project FROM sources WHERE spec = ?",
                                (spec.id,)).fetchone()
        if row and row[3] != request.project_id:
            row = (row[0], "", row[2], row[3])  # regrouped: its k-grams are counted again
        if row and spec.pinned and row[1] and not self.notes.wants(row[2]):
            self._update_description(row[0], request)
            return SourceUnchanged(spec.id, "pinned release already indexed")
        if self.progress:
            self.progress(f"fetch {spec.id}", 0, 1)
        with tempfile.TemporaryDirectory(prefix="noshortcut-corpus-") as work:
            try:
                fetched = fetch_source(spec, Path(work), self.cache_dir)
            except FetchFailed as exc:
                return SourceFailed(spec.id, str(exc))
            entries = list_source_files(fetched.root)
            digest = hashlib.sha256("".join(f"{e.path}\0{e.sha256}\n" for e in entries).encode()).hexdigest()
            if row and row[1] == digest:
                self._update_description(row[0], request)
                if self.notes.wants(row[2]):
                    self.notes.hand(spec.id, fetched, entries, self.conn, row[0], replace=True)
                return SourceUnchanged(spec.id, "same files as indexed")
            if not any(e.kind == "code" for e in entries):
                return SourceFailed(spec.id, f"no Python files (.py, .ipynb) in {spec.id}")
            outcome = self._store(request, fetched, entries, digest, replacing=row[0] if row else None,
                                  started=started)
            source_id = self.conn.execute("SELECT id FROM sources WHERE spec = ?", (spec.id,)).fetchone()[0]
            self.notes.hand(spec.id, fetched, entries, self.conn, source_id, replace=row is not None)
            return outcome

    def _update_description(self, source_id: int, request: SourceRequest) -> None:
        """Licence, URL, aliases and origin follow the manifest without re-indexing."""
        fields = {"origin": request.origin}
        if request.licence:
            fields["licence"] = request.licence
        if request.url:
            fields["url"] = request.url
        if request.aliases:
            fields["aliases"] = json.dumps(list(request.aliases), ensure_ascii=False)
        current = self.conn.execute(
            f"SELECT {', '.join(fields)} FROM sources WHERE id = ?", (source_id,)).fetchone()
        if tuple(current) != tuple(fields.values()):
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(f"UPDATE sources SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                              (*fields.values(), source_id))
            self._bump_generation()
            self.conn.execute("COMMIT")

    def _store(self, request: SourceRequest, fetched, entries, digest: str,
               replacing: int | None, started: float) -> SourceAdded:
        spec = request.spec
        conn = self.conn
        code_entries = [e for e in entries if e.kind == "code"]
        warnings: list[str] = [f"{e.path}: {e.skip_reason}" for e in entries if e.skip_reason]
        warnings += fetched.notes
        conn.execute("BEGIN IMMEDIATE")
        try:
            if replacing is not None:
                old_project = conn.execute("SELECT project FROM sources WHERE id = ?",
                                           (replacing,)).fetchone()[0]
                self._remove_rows(replacing, old_project)
            conn.execute(
                "INSERT INTO sources(spec, kind, project, version, licence, url, aliases, origin, "
                "digest, archive, added_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (spec.id, spec.kind, request.project_id, fetched.version or spec.ref,
                 request.licence or fetched.licence, request.url or fetched.url,
                 json.dumps(list(request.aliases), ensure_ascii=False), request.origin, digest,
                 fetched.archive, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
            source_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            unique_parts: list[np.ndarray] = []
            new = reused = tokens = files = 0
            done = 0
            for batch in _batches(code_entries, defaults.CORPUS_BATCH_FILES, defaults.CORPUS_BATCH_BYTES):
                n_new, n_reused, n_tokens, n_files, kg = self._store_batch(source_id, spec.id, batch,
                                                                           warnings)
                new, reused, tokens, files = new + n_new, reused + n_reused, tokens + n_tokens, files + n_files
                if kg.size:
                    unique_parts.append(kg)
                done += len(batch)
                if self.progress:
                    self.progress(f"fingerprint {spec.id}", done, len(code_entries))
                if len(unique_parts) > 8:  # keep the running set small
                    unique_parts = [np.unique(np.concatenate(unique_parts))]
            unique = np.unique(np.concatenate(unique_parts)) if unique_parts else np.empty(0, np.uint64)
            self._count_project_kgrams(source_id, request.project_id, unique, +1)
            conn.execute("INSERT INTO source_kgrams(source_id, kgrams) VALUES (?, ?)",
                         (source_id, unique.tobytes()))
            conn.execute("UPDATE sources SET code_files = ?, notes_files = ?, tokens = ?, warnings = ? "
                         "WHERE id = ?",
                         (files, sum(1 for e in entries if e.kind == "notes"), tokens,
                          json.dumps(warnings, ensure_ascii=False), source_id))
            if replacing is not None:
                self._drop_unused_contents()
            self._bump_generation()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return SourceAdded(spec.id, fetched.version or spec.ref, files, new, reused, tokens,
                           round(time.perf_counter() - started, 3), replacing is not None,
                           tuple(warnings))

    def _store_batch(self, source_id: int, owner: str, batch, warnings: list[str]):
        conn = self.conn
        params = self.params
        files = [read_source_file(e, owner) for e in batch]
        for f in files:
            if f.code is None and f.warning:
                warnings.append(f"{f.entry.path}: {f.warning}")
        files = [f for f in files if f.code is not None]
        known = {}
        shas = sorted({f.entry.sha256 for f in files})
        for start in range(0, len(shas), 900):
            chunk = shas[start:start + 900]
            known.update(conn.execute(
                f"SELECT sha256, id FROM contents WHERE sha256 IN ({','.join('?' * len(chunk))})",
                chunk).fetchall())
        todo = []
        for f in files:
            if f.entry.sha256 not in known and f.entry.sha256 not in {t.entry.sha256 for t in todo}:
                todo.append(f)
        fps = fingerprint_many([f.code.text for f in todo], params, self.jobs,
                               map=self.fingerprint_map)
        kgram_parts = []
        for f, fp in zip(todo, fps):
            known[f.entry.sha256] = self._insert_content(f.entry.sha256, fp, f.code.text)
            kgram_parts.append(fp.kgrams)
            if fp.stream.parser != "libcst":
                warnings.append(f"{f.entry.path}: lexical fallback ({fp.stream.reason})")
        reused_ids = {known[f.entry.sha256] for f in files} - {known[f.entry.sha256] for f in todo}
        for cid in sorted(reused_ids):
            blob = conn.execute("SELECT arrays FROM contents WHERE id = ?", (cid,)).fetchone()[0]
            kgram_parts.append(unpack_arrays(blob)["kgrams"])
        tokens = 0
        for f in files:
            cid = known[f.entry.sha256]
            n_tokens = conn.execute("SELECT n_tokens FROM contents WHERE id = ?", (cid,)).fetchone()[0]
            tokens += n_tokens
            conn.execute("INSERT INTO documents(source_id, path, sha256, content_id, bytes, lines, "
                         "cell_lines) VALUES (?,?,?,?,?,?,?)",
                         (source_id, f.entry.path, f.entry.sha256, cid, f.entry.size,
                          f.code.text.count("\n") + 1, json.dumps(f.code.cell_lines)))
        unique = np.unique(np.concatenate(kgram_parts)) if kgram_parts else np.empty(0, np.uint64)
        return len(todo), len(reused_ids), tokens, len(files), unique

    def _insert_content(self, sha: str, fp: CodeFingerprint, text: str) -> int:
        params = self.params
        stream = fp.stream
        units = np.array([(u.start, u.end, u.start_line, u.end_line) for u in stream.units],
                         dtype=np.int32).reshape(-1, 4)
        arrays = pack_arrays({
            "kgrams": fp.kgrams.astype(np.uint64),
            "start_lines": np.asarray(stream.start_lines, dtype=np.int32),
            "end_lines": np.asarray(stream.end_lines, dtype=np.int32),
            "units": units,
        }, compress=("start_lines", "end_lines", "units"))
        sets = fp.unit_hash_sets(params) if fp.kgrams.size else []
        matrix = minhash_values_many(sets, params)  # one row per unit range
        cur = self.conn.execute(
            "INSERT INTO contents(sha256, n_tokens, parser, arrays, unit_names, n_signatures, "
            "signatures, text) VALUES (?,?,?,?,?,?,?,?)",
            (sha, fp.n_tokens, stream.parser, arrays,
             json.dumps([u.name for u in stream.units], ensure_ascii=False), len(matrix),
             matrix.tobytes(), zlib.compress(text.encode("utf-8"), 6)))
        return cur.lastrowid

    # k-gram frequencies -----------------------------------------------------------------------
    def _project_kgrams(self, project: str, exclude_source: int) -> np.ndarray:
        parts = [np.frombuffer(blob, dtype=np.uint64) for (blob,) in self.conn.execute(
            "SELECT k.kgrams FROM source_kgrams k JOIN sources s ON s.id = k.source_id "
            "WHERE s.project = ? AND s.id != ?", (project, exclude_source))]
        if not parts:
            return np.empty(0, dtype=np.uint64)
        return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))

    def _count_project_kgrams(self, source_id: int, project: str, unique: np.ndarray, delta: int) -> None:
        """Add (+1) or take back (-1) the project's count for k-grams no other source of the same
        project has: a k-gram counts once per project, however many versions hold it."""
        others = self._project_kgrams(project, source_id)
        changed = np.setdiff1d(unique, others, assume_unique=True) if others.size else unique
        values = np.sort(_as_int64(changed)).tolist()
        if delta > 0:
            self.conn.executemany(
                "INSERT INTO kgram_df(kgram, projects) VALUES (?, 1) "
                "ON CONFLICT(kgram) DO UPDATE SET projects = projects + 1", zip(values))
        else:
            self.conn.executemany("UPDATE kgram_df SET projects = projects - 1 WHERE kgram = ?",
                                  zip(values))
            self.conn.executemany("DELETE FROM kgram_df WHERE kgram = ? AND projects <= 0", zip(values))

    # removing ----------------------------------------------------------------------------------
    def _remove_rows(self, source_id: int, project: str) -> int:
        """Inside a transaction: take a source's rows and counts out (its contents stay until
        `_drop_unused_contents`, so that a replacing version can reuse them)."""
        conn = self.conn
        blob = conn.execute("SELECT kgrams FROM source_kgrams WHERE source_id = ?", (source_id,)).fetchone()
        if blob is not None:
            self._count_project_kgrams(source_id, project, np.frombuffer(blob[0], dtype=np.uint64), -1)
        n_docs = conn.execute("SELECT COUNT(*) FROM documents WHERE source_id = ?", (source_id,)).fetchone()[0]
        conn.execute("DELETE FROM source_kgrams WHERE source_id = ?", (source_id,))
        conn.execute("DELETE FROM documents WHERE source_id = ?", (source_id,))
        conn.execute("DELETE FROM sources WHERE id = ?", (source_id,))
        return n_docs

    def _drop_unused_contents(self) -> None:
        self.conn.execute("DELETE FROM contents WHERE id NOT IN (SELECT content_id FROM documents)")

    def remove(self, spec: str) -> SourceOutcome:
        row = self.conn.execute("SELECT id, project FROM sources WHERE spec = ?", (spec,)).fetchone()
        if row is None:
            return SourceFailed(spec, "not in the index (see `checker corpus list`)")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            n_docs = self._remove_rows(row[0], row[1])
            self._drop_unused_contents()
            self._bump_generation()
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.notes.remove(spec)
        return SourceRemoved(spec, n_docs)


def _batches(entries: list, max_files: int, max_bytes: int) -> Iterator[list]:
    batch, size = [], 0
    for e in entries:
        if batch and (len(batch) >= max_files or size + e.size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(e)
        size += e.size
    if batch:
        yield batch


# --- the notes corpus hand-off -------------------------------------------------------------------


class NotesSink(Protocol):
    """Where a source's prose goes: the notes corpus. `checker.notes.corpus.NotesCorpus` is one;
    the caller (the CLI) hands in its opener, the corpus index never imports it (notes and corpus
    are peers)."""

    def set_source(self, source: str, **meta) -> None: ...

    def add_document(self, source: str, path: str, text: str, meta: dict) -> object: ...

    def remove_source(self, source: str) -> object: ...

    def save(self) -> None: ...

    def close(self) -> None: ...


# Opens (creating when missing) the notes sink in a folder: `<index>/notes/`.
NotesSinkOpener = Callable[[Path], NotesSink]


class _NotesHandOff:
    """Gives a source's prose (Markdown, text, HTML, notebook markdown, docstrings) to the notes
    sink handed in (`opener`, e.g. `NotesCorpus.open`, opened in `<index>/notes/` when first
    needed); without one, or when switched off, records why it did not."""

    def __init__(self, index_path: Path, enabled: bool = True,
                 opener: NotesSinkOpener | None = None) -> None:
        self.index_path = index_path
        self.enabled = enabled
        self.opener = opener
        self.reason = "" if enabled else "notes of sources were not handed to the notes corpus (switched off)"
        self._corpus: NotesSink | None = None
        self._opened = False

    def _open(self) -> NotesSink | None:
        if self._opened:
            return self._corpus
        self._opened = True
        if self.opener is None:
            self.reason = "no notes corpus was handed in (notes_sink); notes of sources were not indexed"
            return None
        notes_dir = self.index_path / defaults.NOTES_INDEX_SUBDIR
        try:
            self._corpus = self.opener(notes_dir)
        except Exception as exc:  # noqa: BLE001 - the notes corpus must not break the code index
            self.reason = f"could not open the notes corpus in {notes_dir}: {exc}"
        return self._corpus

    @property
    def available(self) -> bool:
        return self.enabled and self._open() is not None

    def wants(self, notes_state: str) -> bool:
        """Does a source in this state still need its prose handed over?"""
        return notes_state != "done" and self.available

    def hand(self, spec: str, fetched, entries, conn: sqlite3.Connection, source_id: int,
             replace: bool) -> None:
        state = "unavailable"
        corpus = self._open() if self.enabled else None
        if corpus is not None:
            try:
                if replace:
                    corpus.remove_source(spec)
                meta = {"version": fetched.version, "licence": fetched.licence, "url": fetched.url}
                corpus.set_source(spec, **meta)
                left_out: list[str] = []
                for path, text, kind in _prose_of(fetched, entries, spec, left_out):
                    corpus.add_document(spec, path, text, {**meta, "kind": kind})
                if left_out:
                    self.reason = "; ".join(left_out)
                corpus.save()
                state = "done"
            except Exception as exc:  # noqa: BLE001 - recorded; the code index stays usable
                state = "failed"
                self.reason = f"the notes corpus refused {spec}: {type(exc).__name__}: {exc}"
        conn.execute("UPDATE sources SET notes_state = ? WHERE id = ?", (state, source_id))

    def remove(self, spec: str) -> None:
        corpus = self._open() if self.enabled else None
        if corpus is not None:
            try:
                corpus.remove_source(spec)
                corpus.save()
            except Exception as exc:  # noqa: BLE001
                self.reason = f"the notes corpus could not remove {spec}: {exc}"

    def close(self) -> None:
        if self._corpus is not None:
            self._corpus.close()
        self._corpus = None


def _looks_like_prose(text: str) -> bool:
    """A `.txt` file of sentences, not of data (timm ships megabytes of synset lists as .txt)."""
    lines = [ln for ln in text.splitlines() if ln.strip()][:400]
    if not lines:
        return False
    cjk = sum(1 for ch in text[:20000] if "\u3400" <= ch <= "\u9fff")
    if cjk >= 0.3 * max(1, len(text[:20000].replace(" ", ""))):
        return True
    wordy = sum(1 for ln in lines if len(ln.split()) >= 5)
    return wordy >= 0.4 * len(lines)


def _prose_of(fetched, entries, owner: str, notes: list[str]) -> Iterator[tuple[str, str, str]]:
    """(path, text, kind) of the source's prose: Markdown/reST/HTML files, `.txt` files that read
    as prose, notebook markdown, and docstrings of at least CORPUS_NOTES_MIN_DOCSTRING_WORDS words
    (one-line parameter docs are not what notes copy). At most CORPUS_NOTES_MAX_CHARS per source:
    what is left out is recorded in `notes`."""
    import ast

    budget = defaults.CORPUS_NOTES_MAX_CHARS
    skipped = 0

    def take(path: str, text: str, kind: str):
        nonlocal budget, skipped
        if len(text) > budget:
            skipped += 1
            return None
        budget -= len(text)
        return path, text, kind

    for e in entries:
        if e.size > defaults.CORPUS_NOTES_MAX_FILE_BYTES:
            continue
        f = read_source_file(e, owner)
        if e.kind == "notes":
            if f.notes_text.strip() and (not e.path.lower().endswith(".txt")
                                         or _looks_like_prose(f.notes_text)):
                item = take(e.path, f.notes_text, "notes")
                if item:
                    yield item
            continue
        if f.code is None:
            continue
        if f.notes_text.strip():
            item = take(e.path, f.notes_text, "notebook-markdown")
            if item:
                yield item
        try:
            tree = ast.parse(f.code.text)
        except (SyntaxError, ValueError):
            continue
        docs = [ast.get_docstring(node) for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
        text = "\n\n".join(d for d in docs if d and len(d.split()) >= defaults.CORPUS_NOTES_MIN_DOCSTRING_WORDS)
        if text.strip():
            item = take(e.path, text, "docstrings")
            if item:
                yield item
    if skipped:
        notes.append(f"{owner}: {skipped} prose file(s) beyond {defaults.CORPUS_NOTES_MAX_CHARS:,} "
                     "characters were not handed to the notes corpus")


# --- public entry points --------------------------------------------------------------------------


def _open_for_write(path: Path, params: FingerprintParams) -> str:
    """The live database name, created when the folder holds no index yet."""
    current = _read_current(path)
    if current is None:
        _remove_orphans(path, None)
        name = _create_db(path, params)
        _write_current(path, name)
        return name
    _remove_orphans(path, current["db"])
    conn = _connect(path / current["db"])
    try:
        stored = FingerprintParams(**json.loads(
            conn.execute("SELECT value FROM meta WHERE key = 'params'").fetchone()[0]))
    finally:
        conn.close()
    params.check_compatible(stored, f"corpus index {path}")
    return current["db"]


def add_sources(index_path: Path, requests: Sequence[SourceRequest | str],
                params: FingerprintParams | None = None, jobs: int = 0,
                cache_dir: Path | None = None, progress: Progress | None = None,
                notes: bool = True, notes_sink: NotesSinkOpener | None = None,
                fingerprint_map: FingerprintMap | None = None) -> BuildResult:
    """Add (or refresh) sources, one transaction each; a failing source does not stop the others.

    `notes`: hand each source's prose to the notes corpus as well, through `notes_sink` (opens it
    in `<index>/notes/`: the CLI hands in `checker.notes.corpus.NotesCorpus`'s; without one the
    result says that notes were not indexed).
    `fingerprint_map`: fingerprint elsewhere (`fingerprint_many`'s `map`, e.g. on Ray: the caller
    keeps one cluster up around the whole build); None: this machine's process pool.
    Raises `ParamsMismatch` when the index was built with other parameters, `SourceError` for a
    spec that cannot be parsed (before anything is written)."""
    index_path = Path(index_path)
    params = params or FingerprintParams()
    reqs = [r if isinstance(r, SourceRequest) else SourceRequest(parse_source(r)) for r in requests]
    started = time.perf_counter()
    result = BuildResult(index_path)
    with _write_lock(index_path):
        db_name = _open_for_write(index_path, params)
        result.outcomes = _add_all(index_path, db_name, reqs, params, jobs, cache_dir, progress,
                                   result, notes, fingerprint_map, notes_sink)
    result.seconds = time.perf_counter() - started
    return result


def _add_all(index_path: Path, db_name: str, reqs: Sequence[SourceRequest], params, jobs, cache_dir,
             progress, result: BuildResult, notes_enabled: bool = True,
             fingerprint_map: FingerprintMap | None = None,
             notes_sink: NotesSinkOpener | None = None) -> list[SourceOutcome]:
    notes = _NotesHandOff(index_path, notes_enabled, notes_sink)
    writer = _Writer(index_path, db_name, params, jobs,
                     Path(cache_dir) if cache_dir else index_path / "downloads", progress, notes,
                     fingerprint_map)
    outcomes = []
    try:
        for req in reqs:
            outcomes.append(writer.add(req))
    finally:
        writer.close()
        notes.close()
    if notes.reason and any(isinstance(o, SourceAdded) for o in outcomes):
        result.notes.append(notes.reason)
    return outcomes


def remove_sources(index_path: Path, specs: Sequence[str], notes: bool = True,
                   notes_sink: NotesSinkOpener | None = None) -> BuildResult:
    """Remove sources by their spec (as listed by `checker corpus list`), one transaction each
    (and their prose from the notes corpus `notes_sink` opens, as `add_sources`)."""
    index_path = Path(index_path)
    started = time.perf_counter()
    result = BuildResult(index_path)
    with _write_lock(index_path):
        current = _read_current(index_path)
        if current is None:
            raise CorpusIndexError(f"{index_path}: no corpus index here")
        hand_off = _NotesHandOff(index_path, notes, notes_sink)
        writer = _Writer(index_path, current["db"], FingerprintParams(), 0, index_path / "downloads",
                         None, hand_off)
        try:
            result.outcomes = [writer.remove(_canonical_spec(s)) for s in specs]
        finally:
            writer.close()
            hand_off.close()
    result.seconds = time.perf_counter() - started
    return result


def _canonical_spec(text: str) -> str:
    try:
        return parse_source(text).id
    except SourceError:
        return text.strip()


def build_corpus(index_path: Path, manifest: Path | Sequence[ManifestEntry] | None = None,
                 rebuild: bool = False, params: FingerprintParams | None = None, jobs: int = 0,
                 cache_dir: Path | None = None, progress: Progress | None = None,
                 notes: bool = True, notes_sink: NotesSinkOpener | None = None,
                 fingerprint_map: FingerprintMap | None = None) -> BuildResult:
    """Make the index hold what the manifest lists.

    Sources listed are added (unchanged ones skipped); sources that came from a manifest and are
    no longer listed are removed; sources added by hand (`corpus add`) stay. `rebuild`: every
    source is fingerprinted again into a new database (with `params`), which replaces the live one
    only when complete: the fix for `ParamsMismatch`, and for a damaged index."""
    index_path = Path(index_path)
    params = params or FingerprintParams()
    if manifest is None:
        manifest = defaults.CORPUS_MANIFEST
    entries = load_manifest(manifest) if isinstance(manifest, (str, Path)) else list(manifest)
    requests = [SourceRequest.from_entry(e) for e in entries]
    started = time.perf_counter()
    result = BuildResult(index_path)
    with _write_lock(index_path):
        if rebuild:
            _rebuild(index_path, requests, params, jobs, cache_dir, progress, result, notes,
                     fingerprint_map, notes_sink)
        else:
            db_name = _open_for_write(index_path, params)
            listed = {r.spec.id for r in requests}
            conn = _connect(index_path / db_name)
            try:
                stale = [s for (s,) in conn.execute(
                    "SELECT spec FROM sources WHERE origin = 'manifest' ORDER BY id") if s not in listed]
            finally:
                conn.close()
            if stale:
                hand_off = _NotesHandOff(index_path, notes, notes_sink)
                writer = _Writer(index_path, db_name, params, jobs, index_path / "downloads", None,
                                 hand_off)
                try:
                    result.outcomes += [writer.remove(s) for s in stale]
                finally:
                    writer.close()
                    hand_off.close()
            result.outcomes += _add_all(index_path, db_name, requests, params, jobs, cache_dir,
                                        progress, result, notes, fingerprint_map, notes_sink)
    result.seconds = time.perf_counter() - started
    return result


def _rebuild(index_path: Path, requests: list[SourceRequest], params, jobs, cache_dir, progress,
             result: BuildResult, notes: bool,
             fingerprint_map: FingerprintMap | None = None,
             notes_sink: NotesSinkOpener | None = None) -> None:
    current = _read_current(index_path) if (index_path / "CURRENT").exists() else None
    _remove_orphans(index_path, current["db"] if current else None)
    keep: list[SourceRequest] = []
    if current is not None:  # sources added by hand are rebuilt too
        conn = _connect(index_path / current["db"], readonly=True)
        try:
            listed = {r.spec.id for r in requests}
            for spec, licence, url, aliases, project in conn.execute(
                    "SELECT spec, licence, url, aliases, project FROM sources WHERE origin = 'add' "
                    "ORDER BY id"):
                if spec not in listed:
                    parsed = parse_source(spec)
                    keep.append(SourceRequest(parsed, licence, url, tuple(json.loads(aliases)), "add",
                                              project if project != parsed.project else ""))
        finally:
            conn.close()
    new_db = _create_db(index_path, params)
    result.outcomes += _add_all(index_path, new_db, requests + keep, params, jobs, cache_dir,
                                progress, result, notes, fingerprint_map, notes_sink)
    _write_current(index_path, new_db)
    _remove_orphans(index_path, new_db)


__all__ = [
    "BandedLSH", "BuildResult", "CorpusDocument", "DatasketchLSH", "CorpusIndex", "CorpusIndexError", "ParamsMismatch",
    "SourceAdded", "SourceFailed", "SourceOutcome", "SourceRecord", "SourceRemoved",
    "SourceRequest", "SourceUnchanged", "StoredContent", "add_sources", "build_corpus",
    "default_index_path", "index_digest", "pack_arrays", "remove_sources", "unpack_arrays",
]
