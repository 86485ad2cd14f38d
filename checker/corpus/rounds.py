"""Remembered rounds: scanned rounds stored in an index folder under a name, so that later scans
compare with them (`checker scan ROUND --index IDX --round-name NAME`; the comparison is
`checker.pipeline.history`).

Where they live: `<index>/rounds/rounds.sqlite`, a database of their own beside the corpus's
`corpus-<epoch>.sqlite`, not new tables in it, because
- the corpus database is rebuildable and the rounds are not: `checker corpus build --rebuild`
  writes a fresh database from the manifest, switches `CURRENT` and deletes the old one
  (`storage.remove_orphans`), and the round folders a remembered round came from may be gone;
- existing indexes need no migration: the corpus schema (`INDEX_SCHEMA_VERSION`) is untouched,
  and a folder gains `rounds/` on its first stored round;
- a round is written under its own lock (`rounds/.lock`), so storing one does not wait for a long
  corpus build, and a folder may hold remembered rounds without any corpus (the notes corpus,
  `<index>/notes/`, is a sibling database for the same reasons).

What is stored per round (not the verdicts' wording, which is recomputed from the evidence):
- `rounds`: name, when, the round folder, counts, and the k-grams that round ignored (its
  handout, the code most of its learners shared, public common code), so that its handout is not
  evidence against a later round either;
- `learners`: every learner id of the round (also those without code);
- `files`: per code file its learner, path, cell lines, and the MinHash signatures the round's own
  learner matching used (file and function/class units, with the round's ignored k-grams left
  out), one row per signature in a blob;
- `contents`: one row per distinct file text (shared by copies and across rounds): token count,
  parser, the packed k-gram array with per-token line spans and units (`blobs.pack_arrays`, as the
  corpus stores them) and the text (zlib), so that a report shows both sides of a match;
- `notes`: each notes document's units (paragraphs with their spans and sentences), as JSON.

Invariants, as for the corpus (`checker.corpus.index`): one writer at a time (`write_lock`); a
round is stored, replaced (same name) or removed in one SQLite transaction, so a store that fails
or is killed midway leaves the previous rounds as they were; fingerprint parameters travel with
the database and a scan with other ones is refused (`ParamsMismatch`) rather than compared.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from checker import defaults
from checker.code.documents import CodeDoc
from checker.code.fingerprints import FingerprintParams, ParamsMismatch
from checker.corpus.blobs import pack_arrays, unpack_arrays
from checker.corpus.records import StoredContent
from checker.corpus.storage import CorpusIndexError, connect
from checker.corpus.writer import write_lock
from checker.ingest.documents import ExcludedBlock, NotesDocument, Paragraph
from checker.model import Span

ROUNDS_DB = "rounds.sqlite"
ROUNDS_SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE rounds (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    round_dir TEXT NOT NULL DEFAULT '',
    learners INTEGER NOT NULL,
    files INTEGER NOT NULL,
    notes INTEGER NOT NULL,
    stored_at TEXT NOT NULL,
    ignored BLOB NOT NULL
);
CREATE TABLE learners (
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    learner TEXT NOT NULL,
    PRIMARY KEY (round_id, learner)
) WITHOUT ROWID;
CREATE TABLE contents (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    n_tokens INTEGER NOT NULL,
    parser TEXT NOT NULL,
    arrays BLOB NOT NULL,
    unit_names TEXT NOT NULL DEFAULT '[]',
    text BLOB NOT NULL
);
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    learner TEXT NOT NULL,
    path TEXT NOT NULL,
    content_id INTEGER NOT NULL REFERENCES contents(id),
    encoding TEXT NOT NULL DEFAULT 'utf-8',
    lines INTEGER NOT NULL,
    cell_lines TEXT NOT NULL DEFAULT '[]',
    n_signatures INTEGER NOT NULL,
    signatures BLOB NOT NULL
);
CREATE INDEX files_round ON files(round_id);
CREATE INDEX files_content ON files(content_id);
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    learner TEXT NOT NULL,
    path TEXT NOT NULL,
    document BLOB NOT NULL
);
CREATE INDEX notes_round ON notes(round_id);
"""


class RoundsError(CorpusIndexError):
    """Remembered rounds that cannot be used or changed as asked (unknown name, another schema);
    the message names the folder and what to do."""


@dataclass(frozen=True)
class RoundRecord:
    """A remembered round, as `checker rounds list` shows it."""

    id: int
    name: str
    learners: int
    files: int
    notes: int  # notes documents
    stored_at: str  # UTC, ISO 8601
    round_dir: str

    def to_dict(self) -> dict:
        out = asdict(self)
        del out["id"]  # the database's own row number, not a name anything else uses
        return out


@dataclass
class RoundToStore:
    """What a scan hands over to be remembered: its learners, its fingerprinted code files with
    the signatures its learner matching used (per document, rows of `num_perm` values), the
    k-grams it ignored, and its notes documents."""

    name: str
    round_dir: str
    learners: Sequence[str]
    docs: Sequence[CodeDoc]
    signatures: Sequence[np.ndarray]
    ignored: np.ndarray
    notes: Sequence[NotesDocument] = ()


@dataclass(frozen=True)
class RememberedFile:
    """A code file of a remembered round."""

    id: int
    round_id: int
    round: str
    learner: str
    path: str
    content_id: int
    encoding: str
    lines: int
    cell_lines: tuple[int, ...]

    @property
    def owner(self) -> str:
        """How reports name the file's learner: `ROUND:LEARNER` (e.g. `2025-task3:learner-07`)."""
        return history_owner(self.round, self.learner)


def history_owner(round_name: str, learner: str) -> str:
    return f"{round_name}:{learner}"


def check_round_name(name: str) -> str:
    """A round name a report can show and `ROUND:LEARNER` can carry: printable, no `:` or `/`."""
    name = name.strip()
    if not name:
        raise RoundsError("--round-name: give a name for the round (e.g. 2025-task3)")
    bad = sorted({c for c in name if c in ":/\\" or not c.isprintable()})
    if bad:
        raise RoundsError(f"--round-name {name!r}: a round name cannot hold {' '.join(map(repr, bad))} "
                          "(reports name a remembered learner as ROUND:LEARNER)")
    return name


def rounds_dir(index: Path | str) -> Path:
    return Path(index) / defaults.ROUNDS_INDEX_SUBDIR


def has_rounds(index: Path | str) -> bool:
    """Does the index folder hold a rounds database (possibly empty)?"""
    return (rounds_dir(index) / ROUNDS_DB).is_file()


def _initialised(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is not None


def _check_meta(conn: sqlite3.Connection, db: Path, params: FingerprintParams | None) -> None:
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("schema") != str(ROUNDS_SCHEMA_VERSION):
        raise RoundsError(f"{db}: remembered rounds of schema {meta.get('schema')!r}, this checker reads "
                          f"{ROUNDS_SCHEMA_VERSION}; store them again with this version (or move the "
                          "rounds/ folder away)")
    if params is None:
        return
    stored = FingerprintParams(**json.loads(meta["params"]))
    if stored != params:
        diff = {k: (v, getattr(stored, k)) for k, v in asdict(params).items() if getattr(stored, k) != v}
        raise ParamsMismatch(f"{db}: the remembered rounds were stored with other fingerprint "
                             f"parameters {diff} (this run, stored); scan with theirs (-k/-w), or "
                             "with --no-history, or remove them (`checker rounds remove NAME`)")


@contextmanager
def _writing(index: Path, params: FingerprintParams | None) -> Iterator[sqlite3.Connection]:
    """The rounds database of `index`, locked for writing, its schema created when new."""
    folder = rounds_dir(index)
    with write_lock(folder):
        db = folder / ROUNDS_DB
        conn = connect(db)
        try:
            if not _initialised(conn):
                if params is None:
                    raise RoundsError(f"{index}: no remembered rounds here")
                # a file left by a store killed before its first commit has no tables: made again
                # (tables and meta in one transaction: a store killed here leaves no half schema)
                meta = "".join(f"INSERT INTO meta(key, value) VALUES ('{k}', '{_sql_text(v)}');"
                               for k, v in (("schema", str(ROUNDS_SCHEMA_VERSION)),
                                            ("params", json.dumps(params.to_dict()))))
                conn.executescript("BEGIN;" + SCHEMA + meta + "COMMIT;")
            _check_meta(conn, db, params)
            yield conn
        finally:
            conn.close()


def _sql_text(value: str) -> str:
    return value.replace("'", "''")


def _transaction(conn: sqlite3.Connection):
    @contextmanager
    def run() -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return run()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _delete_round(conn: sqlite3.Connection, round_id: int) -> None:
    for table in ("files", "notes", "learners"):
        conn.execute(f"DELETE FROM {table} WHERE round_id = ?", (round_id,))
    conn.execute("DELETE FROM rounds WHERE id = ?", (round_id,))


def _drop_unused_contents(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM contents WHERE id NOT IN (SELECT content_id FROM files)")


def store_round(index: Path | str, params: FingerprintParams, round_: RoundToStore) -> RoundRecord:
    """Remember `round_` in the index folder under its name, replacing a round of that name, in
    one transaction: until it commits, the rounds stored before stay exactly as they were."""
    index = Path(index)
    name = check_round_name(round_.name)
    if len(round_.signatures) != len(round_.docs):
        raise ValueError("store_round: one signature matrix per document")
    with _writing(index, params) as conn, _transaction(conn):
        old = conn.execute("SELECT id FROM rounds WHERE name = ?", (name,)).fetchone()
        if old is not None:
            _delete_round(conn, old[0])
        learners = sorted(set(round_.learners) | {d.source.owner for d in round_.docs})
        cur = conn.execute(
            "INSERT INTO rounds(name, round_dir, learners, files, notes, stored_at, ignored) "
            "VALUES (?,?,?,?,?,?,?)",
            (name, round_.round_dir, len(learners), len(round_.docs), len(round_.notes), _now(),
             np.unique(np.asarray(round_.ignored, dtype=np.uint64)).tobytes()))
        round_id = cur.lastrowid
        conn.executemany("INSERT INTO learners(round_id, learner) VALUES (?, ?)",
                         [(round_id, learner) for learner in learners])
        contents: dict[str, int] = {}
        for doc, signatures in zip(round_.docs, round_.signatures):
            content_id = _content_id(conn, doc, contents)
            matrix = np.ascontiguousarray(signatures, dtype=np.uint64).reshape(-1, params.num_perm)
            conn.execute(
                "INSERT INTO files(round_id, learner, path, content_id, encoding, lines, cell_lines, "
                "n_signatures, signatures) VALUES (?,?,?,?,?,?,?,?,?)",
                (round_id, doc.source.owner, doc.source.path, content_id, doc.source.encoding,
                 doc.source.text.count("\n") + 1, json.dumps(list(doc.source.cell_lines)),
                 len(matrix), matrix.tobytes()))
        conn.executemany("INSERT INTO notes(round_id, learner, path, document) VALUES (?,?,?,?)",
                         [(round_id, d.owner, d.path, _pack_notes(d)) for d in round_.notes])
        if old is not None:
            _drop_unused_contents(conn)
        row = conn.execute(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE id = ?", (round_id,)).fetchone()
    return RoundRecord(*row)


def _content_id(conn: sqlite3.Connection, doc: CodeDoc, known: dict[str, int]) -> int:
    """The row of the document's text in `contents`, inserted when new."""
    text = doc.source.text
    sha = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    if sha in known:
        return known[sha]
    row = conn.execute("SELECT id FROM contents WHERE sha256 = ?", (sha,)).fetchone()
    if row is None:
        stream = doc.fp.stream
        units = np.array([(u.start, u.end, u.start_line, u.end_line) for u in stream.units],
                         dtype=np.int32).reshape(-1, 4)
        arrays = pack_arrays({
            "kgrams": doc.fp.kgrams.astype(np.uint64),
            "start_lines": np.asarray(stream.start_lines, dtype=np.int32),
            "end_lines": np.asarray(stream.end_lines, dtype=np.int32),
            "units": units,
        }, compress=("start_lines", "end_lines", "units"))
        row = (conn.execute(
            "INSERT INTO contents(sha256, n_tokens, parser, arrays, unit_names, text) VALUES (?,?,?,?,?,?)",
            (sha, doc.fp.n_tokens, stream.parser, arrays,
             json.dumps([u.name for u in stream.units], ensure_ascii=False),
             zlib.compress(text.encode("utf-8", "surrogatepass"), 6))).lastrowid,)
    known[sha] = row[0]
    return row[0]


def _pack_notes(document: NotesDocument) -> bytes:
    data = {"path": document.path, "title": document.title, "encoding": document.encoding,
            "link_urls": list(document.link_urls),
            "paragraphs": [p.to_dict() for p in document.paragraphs],
            "excluded": [e.to_dict() for e in document.excluded]}
    return zlib.compress(json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass"), 6)


def _unpack_notes(owner: str, blob: bytes) -> NotesDocument:
    data = json.loads(zlib.decompress(blob).decode("utf-8", "surrogatepass"))
    paragraphs = [Paragraph(**{**p, "span": Span(**p["span"]),
                               "sentences": tuple(tuple(s) for s in p["sentences"]),
                               "urls": tuple(p["urls"])}) for p in data["paragraphs"]]
    excluded = [ExcludedBlock(**{**e, "span": Span(**e["span"]), "urls": tuple(e["urls"])})
                for e in data["excluded"]]
    return NotesDocument(owner, data["path"], paragraphs, excluded, encoding=data["encoding"],
                         title=data["title"], link_urls=list(data["link_urls"]))


def remove_round(index: Path | str, name: str) -> RoundRecord:
    """Forget the round `name` (one transaction); RoundsError when there is none of that name."""
    index = Path(index)
    if not has_rounds(index):
        raise RoundsError(f"{name}: no remembered round of that name in {index} (it holds no remembered "
                          "rounds)")
    with _writing(index, None) as conn:
        row = conn.execute(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = [r[0] for r in conn.execute("SELECT name FROM rounds ORDER BY name")]
            raise RoundsError(f"{name}: no remembered round of that name in {index} (remembered: "
                              f"{', '.join(known) or 'none'}; see `checker rounds list`)")
        with _transaction(conn):
            _delete_round(conn, row[0])
            _drop_unused_contents(conn)
    return RoundRecord(*row)


def list_rounds(index: Path | str) -> list[RoundRecord]:
    """The remembered rounds of an index folder, oldest first ([] when it holds none)."""
    view = RememberedRounds.open(index)
    if view is None:
        return []
    with view:
        return view.rounds()


_ROUND_COLUMNS = "id, name, learners, files, notes, stored_at, round_dir"


class RememberedRounds:
    """A read view of an index folder's remembered rounds, one snapshot for its whole life (a
    round stored meanwhile is not half seen). Open with `RememberedRounds.open(index, params)`."""

    def __init__(self, index: Path, conn: sqlite3.Connection) -> None:
        self.index = index
        self.path = rounds_dir(index) / ROUNDS_DB
        self._conn = conn
        conn.execute("BEGIN")
        conn.execute("SELECT 1 FROM meta").fetchone()  # the snapshot starts with the first read

    @classmethod
    def open(cls, index: Path | str, params: FingerprintParams | None = None) -> RememberedRounds | None:
        """The rounds of `index`, or None when it holds none. `params`: this run's fingerprint
        parameters; rounds stored with others raise `ParamsMismatch`."""
        index = Path(index)
        db = rounds_dir(index) / ROUNDS_DB
        if not db.is_file():
            return None
        try:
            conn = connect(db, readonly=not os.access(db.parent, os.W_OK))
            if not _initialised(conn):
                conn.close()
                return None
            _check_meta(conn, db, params)
        except sqlite3.DatabaseError as exc:
            raise RoundsError(f"{db}: not a readable rounds database ({exc}); move the rounds/ folder "
                              "away and store the rounds again") from None
        return cls(index, conn)

    def close(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        self._conn.close()

    def __enter__(self) -> RememberedRounds:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def rounds(self, exclude: str | None = None) -> list[RoundRecord]:
        rows = self._conn.execute(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE name IS NOT ? ORDER BY id",
                                  (exclude,)).fetchall()
        return [RoundRecord(*r) for r in rows]

    def ignored(self, round_id: int) -> np.ndarray:
        """The sorted k-grams the round ignored when it was scanned (its handout, its common code)."""
        blob = self._conn.execute("SELECT ignored FROM rounds WHERE id = ?", (round_id,)).fetchone()
        return np.frombuffer(blob[0], dtype=np.uint64) if blob else np.empty(0, dtype=np.uint64)

    def learners(self, round_id: int) -> list[str]:
        return [r[0] for r in self._conn.execute(
            "SELECT learner FROM learners WHERE round_id = ? ORDER BY learner", (round_id,))]

    def signatures(self, round_ids: Sequence[int], num_perm: int) -> tuple[np.ndarray, np.ndarray]:
        """(file ids, matrix): one row per stored signature of the files of these rounds."""
        ids, blocks = [], []
        for rid in round_ids:
            for fid, n, blob in self._conn.execute(
                    "SELECT id, n_signatures, signatures FROM files WHERE round_id = ? AND "
                    "n_signatures > 0 ORDER BY id", (rid,)):
                blocks.append(np.frombuffer(blob, dtype=np.uint64).reshape(n, num_perm))
                ids.append(np.full(n, fid, dtype=np.int64))
        if not blocks:
            return np.empty(0, dtype=np.int64), np.empty((0, num_perm), dtype=np.uint64)
        return np.concatenate(ids), np.concatenate(blocks)

    def files(self, ids: Sequence[int]) -> list[RememberedFile]:
        out: list[RememberedFile] = []
        ids = sorted(set(int(i) for i in ids))
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            for row in self._conn.execute(
                    "SELECT f.id, f.round_id, r.name, f.learner, f.path, f.content_id, f.encoding, f.lines, "
                    f"f.cell_lines FROM files f JOIN rounds r ON r.id = f.round_id WHERE f.id IN "
                    f"({','.join('?' * len(chunk))}) ORDER BY f.id", chunk):
                out.append(RememberedFile(*row[:8], tuple(json.loads(row[8]))))
        return out

    def content(self, content_id: int) -> StoredContent:
        row = self._conn.execute("SELECT id, sha256, n_tokens, parser, arrays, unit_names FROM contents "
                                 "WHERE id = ?", (content_id,)).fetchone()
        if row is None:
            raise KeyError(f"no content {content_id} in {self.path}")
        arrays = unpack_arrays(row[4])
        return StoredContent(row[0], row[1], row[2], row[3], arrays["kgrams"], arrays["start_lines"],
                             arrays["end_lines"], arrays["units"].reshape(-1, 4), json.loads(row[5]))

    def text(self, content_id: int) -> str:
        row = self._conn.execute("SELECT text FROM contents WHERE id = ?", (content_id,)).fetchone()
        if row is None:
            raise KeyError(f"no content {content_id} in {self.path}")
        return zlib.decompress(row[0]).decode("utf-8", "surrogatepass")

    def notes(self, round_ids: Sequence[int]) -> list[NotesDocument]:
        """The notes documents of these rounds, each owned by `ROUND:LEARNER`."""
        out = []
        for rid in round_ids:
            for name, learner, blob in self._conn.execute(
                    "SELECT r.name, n.learner, n.document FROM notes n JOIN rounds r ON r.id = n.round_id "
                    "WHERE n.round_id = ? ORDER BY n.id", (rid,)):
                out.append(_unpack_notes(history_owner(name, learner), blob))
        return out


__all__ = ["ROUNDS_DB", "ROUNDS_SCHEMA_VERSION", "RememberedFile", "RememberedRounds", "RoundRecord",
           "RoundToStore", "RoundsError", "check_round_name", "has_rounds", "history_owner",
           "list_rounds", "remove_round", "rounds_dir", "store_round"]
