"""What a scan computed of a file's text, kept on disk and found again by the text: the one store
behind the fingerprint cache (`checker.code.fpcache`) and the review questions' facts cache
(`checker.report.factcache`).

An entry is keyed by the SHA-256 of the text (`text_key`), and one store holds the entries of one
*cache key*: a dict of everything besides the text that the value depends on (`cache_key`: the
entry format, a digest of the source of the modules that compute it, libCST's version, Python's,
and the caller's parameters). A run with another key empties the store and says so (`notice`); a
changed file has another text, so another entry.

One SQLite file per store (WAL, so that a second scan reading or writing at the same time waits,
not fails), written in one transaction per batch: a process killed mid-write leaves the last
committed state. Each entry carries a checksum (`seal`): an entry that does not decode is dropped
and recomputed, with a notice, and a file that is not a readable database is set aside and started
afresh. Nothing here ever stops a scan: on an error the scan goes on without the store and says
why once. The size is bounded (`max_bytes`): the least recently used entries go first.

A subclass says how its values become bytes (`encode`, `decode`: never pickle, a cache folder
may be planted by someone else) and how its notices name it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
import sys
import time
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

Notice = Callable[[str], None]
V = TypeVar("V")
C = TypeVar("C", bound="TextCache")


def text_key(text: str) -> bytes:
    """The cache key of a file's text: SHA-256 of its UTF-8 (lone surrogates kept as they are)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def cache_key(entry_format: int, sources: Iterable[str], **parameters) -> dict:
    """Everything besides the text that a cached value depends on: the entry format, a digest of
    `sources` (modules inside the `checker` package, by path: the code that computes the value),
    libCST's version, Python's (its tokenizer and grammar), and `parameters`."""
    from importlib.metadata import PackageNotFoundError, version

    package = Path(__file__).resolve().parent.parent
    code = hashlib.sha256()
    for rel in sources:
        code.update((package / rel).read_bytes())
    try:
        libcst = version("libcst")
    except PackageNotFoundError:  # pragma: no cover - libcst is a requirement
        libcst = "unknown"
    return {
        "format": entry_format,
        **parameters,
        "code": code.hexdigest()[:16],
        "libcst": libcst,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
    }


class CorruptEntry(ValueError):
    """A stored entry that does not decode."""


def seal(magic: bytes, body: bytes) -> bytes:
    """`body` behind a 4-byte `magic` and a CRC-32 of it."""
    return magic + struct.pack("<I", zlib.crc32(body)) + body


def unseal(magic: bytes, data: bytes) -> bytes:
    """`seal`'s body again; CorruptEntry when the magic or the checksum is not what it wrote."""
    if len(data) < 8 or data[:4] != magic or struct.unpack("<I", data[4:8])[0] != zlib.crc32(data[8:]):
        raise CorruptEntry("checksum mismatch")
    return data[8:]


class TextCache(Generic[V]):
    """Values by text key, for one cache key; `open` a subclass, `get_many`, `put_many`.

    Every failure of the store itself is a notice and the store is switched off for the rest of
    the run: the scan computes what it could not read, identically.
    """

    FILE: ClassVar[str]  # the file's name inside the cache folder
    LABEL: ClassVar[str] = "cache"  # how notices name it: "fingerprint cache"
    PARAMETERS: ClassVar[str] = "parameters"  # "was made with other <PARAMETERS>"
    CODE_CHANGED: ClassVar[str] = "the code changed"  # the key's code digest differs
    COMPUTES: ClassVar[str] = "computes everything"  # "this scan <COMPUTES>" when it is off
    MAX_BYTES: ClassVar[int]  # the size bound unless one is given (checker.defaults)

    def __init__(self, path: Path, key: dict, notice: Notice | None = None, max_bytes: int | None = None):
        self.path = Path(path)
        self.key = key
        self.max_bytes = self.MAX_BYTES if max_bytes is None else max_bytes
        self._notice = notice
        self._conn: sqlite3.Connection | None = None
        self.hits = self.misses = 0

    @classmethod
    def in_folder(
        cls: type[C], folder: Path, key: dict, notice: Notice | None = None, max_bytes: int | None = None
    ) -> C:
        """The store `FILE` in `folder` for `key`, opened (or switched off, with a notice)."""
        cache = cls(Path(folder) / cls.FILE, key, notice, max_bytes)
        cache._connect()
        return cache

    def encode(self, value: V) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> V:
        """`encode`'s value again; CorruptEntry when the bytes are not what it wrote."""
        raise NotImplementedError

    @property
    def enabled(self) -> bool:
        return self._conn is not None

    def notice(self, message: str) -> None:
        if self._notice is not None:
            self._notice(message)

    def _connect(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = self._open_db()
        except sqlite3.DatabaseError as exc:  # not a database, or a damaged one: start afresh
            self.notice(f"{self.LABEL} {self.path} is unreadable ({exc}); starting a new one")
            self._conn = None
            try:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                self._conn = self._open_db()
            except (OSError, sqlite3.Error) as again:
                self._off(again)
        except OSError as exc:
            self._off(exc)

    def _open_db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=60)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS entries (key BLOB PRIMARY KEY, data BLOB NOT NULL, "
                "bytes INTEGER NOT NULL, used REAL NOT NULL)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS entries_used ON entries(used)")
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT value FROM meta WHERE key = 'key'").fetchone()
            stored = json.loads(row[0]) if row else None
            if stored != self.key:
                if stored is not None:
                    self.notice(
                        f"{self.LABEL} {self.path.parent} was made with other {self.PARAMETERS} "
                        f"({self._difference(stored, self.key)}); rebuilding it"
                    )
                conn.execute("DELETE FROM entries")
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('key', ?)", (json.dumps(self.key),))
            conn.execute("COMMIT")
            # the check above reads the whole page of meta: a damaged file fails here, not later
        except BaseException:
            conn.close()
            raise
        return conn

    def _off(self, exc: BaseException) -> None:
        """The store fails: say so once, go on without it."""
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
        self._conn = None
        self.notice(
            f"{self.LABEL} {self.path} cannot be used ({type(exc).__name__}: {exc}); "
            f"this scan {self.COMPUTES}"
        )

    def get_many(self, keys: Iterable[bytes]) -> dict[bytes, V]:
        """The stored values of these keys (those found and whole)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[bytes, V] = {}
        if self._conn is None or not wanted:
            self.misses += len(wanted)
            return found
        corrupt: list[bytes] = []
        try:
            rows = []
            for start in range(0, len(wanted), 900):
                chunk = wanted[start : start + 900]
                rows += self._conn.execute(
                    f"SELECT key, data FROM entries WHERE key IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
            for key, data in rows:
                try:
                    found[bytes(key)] = self.decode(bytes(data))
                except CorruptEntry:
                    corrupt.append(bytes(key))
            if corrupt:
                self.notice(
                    f"{self.LABEL} {self.path.parent}: {len(corrupt)} damaged "
                    f"entr{'y' if len(corrupt) == 1 else 'ies'} ignored and computed again"
                )
            now = time.time()
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany("DELETE FROM entries WHERE key = ?", [(k,) for k in corrupt])
            self._conn.executemany("UPDATE entries SET used = ? WHERE key = ?", [(now, k) for k in found])
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._off(exc)
        self.hits += len(found)
        self.misses += len(wanted) - len(found)
        return found

    def put_many(self, items: Iterable[tuple[bytes, V]]) -> None:
        """Store these values, then trim."""
        if self._conn is None:
            return
        now = time.time()
        rows = [(key, data, len(data), now) for key, data in ((k, self.encode(v)) for k, v in items)]
        if not rows:
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)", rows)
            self._conn.execute("COMMIT")
            self.trim()
        except sqlite3.Error as exc:
            self._off(exc)

    def trim(self) -> None:
        """Least recently used entries out until the store is within `max_bytes` (down to 80% of
        it, so that trimming is not done again at the next run)."""
        if self._conn is None:
            return
        total = self._conn.execute("SELECT COALESCE(SUM(bytes), 0) FROM entries").fetchone()[0]
        if total <= self.max_bytes:
            return
        goal, gone = total - int(0.8 * self.max_bytes), []
        for key, size in self._conn.execute("SELECT key, bytes FROM entries ORDER BY used, key"):
            if goal <= 0:
                break
            gone.append((key,))
            goal -= size
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.executemany("DELETE FROM entries WHERE key = ?", gone)
        self._conn.execute("COMMIT")

    def size(self) -> tuple[int, int]:
        """(entries, bytes) held."""
        if self._conn is None:
            return 0, 0
        count, total = self._conn.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM entries").fetchone()
        return int(count), int(total)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self: C) -> C:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _difference(self, stored: dict, current: dict) -> str:
        """What changed between two cache keys, for the notice."""
        parts = []
        for name in sorted(set(stored) | set(current)):
            old, new = stored.get(name), current.get(name)
            if old == new:
                continue
            if isinstance(old, dict) and isinstance(new, dict):
                parts += [
                    f"{k} {old.get(k)} -> {new.get(k)}"
                    for k in sorted(set(old) | set(new))
                    if old.get(k) != new.get(k)
                ]
            elif name == "code":
                parts.append(self.CODE_CHANGED)
            else:
                parts.append(f"{name} {old} -> {new}")
        return ", ".join(parts)


__all__ = ["CorruptEntry", "Notice", "TextCache", "cache_key", "seal", "text_key", "unseal"]
