"""The files of an index folder: the `CURRENT` pointer, the SQLite database and its schema.

What the folder and the database hold, and the invariants kept while writing them, are described in
`checker.corpus.index`; reading is `CorpusIndex` there, writing `checker.corpus.writer`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import uuid
from pathlib import Path

from checker.code.fingerprints import FingerprintParams

INDEX_SCHEMA_VERSION = 1

# The tables of a corpus database (what each holds: checker.corpus.index).
SCHEMA = """
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


def connect(db: Path, readonly: bool = False) -> sqlite3.Connection:
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


def read_current(path: Path) -> dict | None:
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


def write_current(path: Path, db_name: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path, prefix=".CURRENT.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"db": db_name, "schema": INDEX_SCHEMA_VERSION}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path / "CURRENT")


def create_db(path: Path, params: FingerprintParams) -> str:
    epoch = uuid.uuid4().hex[:12]
    name = f"corpus-{epoch}.sqlite"
    conn = connect(path / name)
    try:
        conn.executescript("BEGIN;" + SCHEMA + "COMMIT;")
        conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", [
            ("schema", str(INDEX_SCHEMA_VERSION)), ("params", json.dumps(params.to_dict())),
            ("epoch", epoch), ("generation", "0")])
    finally:
        conn.close()
    return name


def remove_orphans(path: Path, live: str | None) -> None:
    """Databases of interrupted rebuilds (not named by CURRENT) are deleted by the next writer."""
    for db in path.glob("corpus-*.sqlite*"):
        base = db.name.split(".sqlite")[0] + ".sqlite"
        if base != live:
            db.unlink(missing_ok=True)


__all__ = ["INDEX_SCHEMA_VERSION", "SCHEMA", "CorpusIndexError", "connect", "create_db",
           "read_current", "remove_orphans", "write_current"]
