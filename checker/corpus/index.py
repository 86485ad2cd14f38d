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

Where the code lives: this module reads (`CorpusIndex`); `storage` holds the folder's files
(`CURRENT`, the schema, connections), `records` the values, `blobs` the packed arrays, `lsh` the
LSH engines, `writer` the one writer (lock, one transaction per source), `notes_handoff` the prose
handed to the notes corpus, `build` the entry points that change an index (add, remove, build).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from checker import defaults
from checker.code.fingerprints import FingerprintParams, ParamsMismatch
from checker.corpus.blobs import as_int64, pack_arrays, unpack_arrays
from checker.corpus.lsh import BandedLSH, DatasketchLSH, LSHFactory, lsh_factory
from checker.corpus.records import (BuildResult, CorpusDocument, SourceAdded, SourceFailed,
                                    SourceOutcome, SourceRecord, SourceRemoved, SourceUnchanged,
                                    StoredContent)
from checker.corpus.storage import CorpusIndexError, connect, read_current

# Building lives in checker.corpus.build (and writer); its entry points are named here as well,
# so that `checker.corpus.index` stays the one place that lists the corpus index's API.
from checker.corpus.build import add_sources, build_corpus, remove_sources
from checker.corpus.writer import SourceRequest


def default_index_path() -> Path:
    """`$NOSHORTCUT_INDEX`, else `defaults.DEFAULT_INDEX_DIR` (fingerprints/)."""
    return Path(os.environ.get(defaults.CORPUS_INDEX_ENV) or defaults.DEFAULT_INDEX_DIR)


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
        current = read_current(path)
        if current is None:
            raise CorpusIndexError(f"{path}: no corpus index here; build one with "
                                   f"`checker corpus build --index {path}` or "
                                   f"`checker corpus add SOURCE --index {path}`")
        db = path / current["db"]
        if not db.is_file():
            raise CorpusIndexError(f"{db}: the database CURRENT names is missing; rebuild with "
                                   f"`checker corpus build --rebuild --index {path}`")
        try:
            conn = connect(db, readonly=not os.access(path, os.W_OK))
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
            for row in self._conn.execute(f"{_DOCUMENT_SELECT} ORDER BY s.id, d.path"):
                doc = _corpus_document(row)
                by.setdefault(doc.content_id, []).append(doc)
            self._docs_by_content = by
        return self._docs_by_content.get(content_id, [])

    def document(self, source: str, path: str) -> CorpusDocument | None:
        """The file `path` of source `source` (a corpus match's `right`, `right_file`), or None."""
        row = self._conn.execute(f"{_DOCUMENT_SELECT} WHERE s.spec = ? AND d.path = ?",
                                 (source, path)).fetchone()
        return _corpus_document(row) if row else None

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
        num_perm = self.params.num_perm
        rows = self._conn.execute("SELECT id, n_signatures, signatures FROM contents "
                                  "WHERE n_signatures > 0 ORDER BY id").fetchall()
        if not rows:
            return np.empty((0, 2), dtype=np.int64), np.empty((0, num_perm), dtype=np.uint64)
        # one join and one array, not an array per content (55k contents: 0.07 s, not 0.15 s)
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        counts = np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join([row[2] for row in rows]), dtype=np.uint64).reshape(-1, num_perm)
        firsts = np.repeat(np.cumsum(counts) - counts, counts)
        keys = np.column_stack([np.repeat(ids, counts), np.arange(len(matrix), dtype=np.int64) - firsts])
        return keys, matrix

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

    def common_counts(self) -> dict[int, int]:
        """How many k-grams are found in at least N projects, for N = 2 .. the most projects
        any k-gram is found in (at least the corpus's projects): what a `min_projects` keeps."""
        per = dict(self._conn.execute("SELECT projects, COUNT(*) FROM kgram_df "
                                      "WHERE projects >= 2 GROUP BY projects").fetchall())
        out, running = {}, 0
        for n in range(max([self.projects(), *per]), 1, -1):
            running += per.get(n, 0)
            out[n] = running
        return dict(sorted(out.items()))

    def kgram_projects(self, kgrams: np.ndarray) -> np.ndarray:
        """For each k-gram, in how many projects of the corpus it occurs (0 when in none)."""
        kg = np.asarray(kgrams, dtype=np.uint64)
        uniq, inverse = np.unique(kg, return_inverse=True)
        counts = np.zeros(len(uniq), dtype=np.int64)
        values = as_int64(uniq).tolist()
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


_DOCUMENT_SELECT = ("SELECT d.id, s.spec, d.path, d.content_id, s.version, s.licence, s.url, "
                    "s.project, s.aliases, d.cell_lines FROM documents d JOIN sources s "
                    "ON s.id = d.source_id")


def _corpus_document(row) -> CorpusDocument:
    return CorpusDocument(*row[:8], tuple(json.loads(row[8])), tuple(json.loads(row[9])))


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


__all__ = [
    "BandedLSH", "BuildResult", "CorpusDocument", "CorpusIndex", "CorpusIndexError", "DatasketchLSH",
    "ParamsMismatch", "SourceAdded", "SourceFailed", "SourceOutcome", "SourceRecord", "SourceRemoved",
    "SourceRequest", "SourceUnchanged", "StoredContent", "add_sources", "build_corpus",
    "default_index_path", "index_digest", "pack_arrays", "remove_sources", "unpack_arrays",
]
