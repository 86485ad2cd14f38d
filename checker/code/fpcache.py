"""The fingerprint cache: a file's compact fingerprint kept on disk, found again by its text.

A mentor re-runs a round after adding a handout, a late submission or a task file; the files that
did not change need not be parsed again. An entry is keyed by the SHA-256 of the file's text as
the checker fingerprints it (decoded; a notebook's code cells joined), and one cache holds the
entries of one *fingerprint key*: the `FingerprintParams`, a digest of the source of the modules
that make a fingerprint (this package's tokens, parse guard, fingerprints, and the hashing core),
libCST's version and Python's (its tokenizer). A run with another key empties the cache and says
so (`notice`); a changed file has another text, so another entry.

One SQLite file (WAL, so that a second scan reading or writing at the same time waits, not fails),
written in one transaction per batch: a process killed mid-write leaves the last committed state.
Each entry carries a checksum: an entry that does not decode is dropped and recomputed, with a
notice, and a file that is not a readable database is set aside and started afresh. Nothing here
ever stops a scan: on an error the scan goes on without the cache and says why once. The size is
bounded (`defaults.FINGERPRINT_CACHE_MAX_BYTES`): the least recently used entries go first.
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
from dataclasses import asdict
from pathlib import Path

import numpy as np

from checker import defaults
from checker.code.fingerprints import CodeFingerprint, FingerprintParams
from checker.code.tokens import TokenStream, Unit

Notice = Callable[[str], None]

CACHE_FILE = "fingerprints.sqlite"
# bumped when the entry layout below changes (the key then differs: the cache is emptied)
_FORMAT = 1
_MAGIC = b"NSFP"
# the modules (inside the `checker` package) whose code decides what a fingerprint is
_SOURCES = (
    "code/tokens.py",
    "code/parse_guard.py",
    "code/fingerprints.py",
    "core/hashing.py",
    "code/fpcache.py",
)


def text_key(text: str) -> bytes:
    """The cache key of a file's text: SHA-256 of its UTF-8 (lone surrogates kept as they are)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def fingerprint_key(params: FingerprintParams) -> dict:
    """Everything besides the text that a fingerprint depends on."""
    from importlib.metadata import PackageNotFoundError, version

    package = Path(__file__).resolve().parent.parent
    code = hashlib.sha256()
    for rel in _SOURCES:
        code.update((package / rel).read_bytes())
    try:
        libcst = version("libcst")
    except PackageNotFoundError:  # pragma: no cover - libcst is a requirement
        libcst = "unknown"
    return {
        "format": _FORMAT,
        "params": asdict(params),
        "code": code.hexdigest()[:16],
        "libcst": libcst,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
    }


class CorruptEntry(ValueError):
    """A stored fingerprint that does not decode."""


def encode(fp: CodeFingerprint) -> bytes:
    """A compact fingerprint (no token texts or columns) as bytes, with a CRC-32 of the rest."""
    stream = fp.stream
    header = json.dumps(
        {
            "parser": stream.parser,
            "reason": stream.reason,
            "units": [[u.name, u.start, u.end, u.start_line, u.end_line] for u in stream.units],
            "tokens": len(stream.start_lines),
            "kgrams": int(fp.kgrams.size),
        },
        ensure_ascii=False,
    ).encode("utf-8")
    lines = np.array([stream.start_lines, stream.end_lines], dtype=np.int32).tobytes()
    body = (
        struct.pack("<I", len(header))
        + header
        + np.asarray(fp.kgrams, dtype=np.uint64).tobytes()
        + zlib.compress(lines, 1)
    )
    return _MAGIC + struct.pack("<I", zlib.crc32(body)) + body


def decode(data: bytes) -> CodeFingerprint:
    """`encode`'s fingerprint again; CorruptEntry when the bytes are not what it wrote."""
    try:
        if data[:4] != _MAGIC or struct.unpack("<I", data[4:8])[0] != zlib.crc32(data[8:]):
            raise CorruptEntry("checksum mismatch")
        (size,) = struct.unpack("<I", data[8:12])
        header = json.loads(data[12 : 12 + size].decode("utf-8"))
        at = 12 + size
        end = at + 8 * header["kgrams"]
        kgrams = np.frombuffer(data[at:end], dtype=np.uint64).copy()
        lines = np.frombuffer(zlib.decompress(data[end:]), dtype=np.int32).reshape(2, header["tokens"])
        units = [Unit(name, start, stop, first, last) for name, start, stop, first, last in header["units"]]
    except CorruptEntry:
        raise
    except (ValueError, KeyError, TypeError, struct.error, zlib.error) as exc:
        raise CorruptEntry(f"{type(exc).__name__}: {exc}") from None
    stream = TokenStream(
        [], lines[0].tolist(), [], lines[1].tolist(), [], header["parser"], header["reason"], units
    )
    return CodeFingerprint(stream, kgrams)


class FingerprintCache:
    """Fingerprints by text key, for one fingerprint key; `open` it, `get_many`, `put_many`.

    Every failure of the store itself is a notice and the cache is switched off for the rest of
    the run: the scan computes what it could not read, identically (tests/test_fingerprint_cache.py).
    """

    def __init__(
        self,
        path: Path,
        key: dict,
        notice: Notice | None = None,
        max_bytes: int = defaults.FINGERPRINT_CACHE_MAX_BYTES,
    ) -> None:
        self.path = Path(path)
        self.key = key
        self.max_bytes = max_bytes
        self._notice = notice
        self._conn: sqlite3.Connection | None = None
        self.hits = self.misses = 0

    @classmethod
    def open(
        cls,
        folder: Path,
        params: FingerprintParams,
        notice: Notice | None = None,
        max_bytes: int = defaults.FINGERPRINT_CACHE_MAX_BYTES,
    ) -> FingerprintCache:
        cache = cls(Path(folder) / CACHE_FILE, fingerprint_key(params), notice, max_bytes)
        cache._connect()
        return cache

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
            self.notice(f"fingerprint cache {self.path} is unreadable ({exc}); starting a new one")
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
                        f"fingerprint cache {self.path.parent} was made with other fingerprint "
                        f"parameters ({_difference(stored, self.key)}); rebuilding it"
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
        """The cache fails: say so once, go on without it."""
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
        self._conn = None
        self.notice(
            f"fingerprint cache {self.path} cannot be used ({type(exc).__name__}: {exc}); "
            "this scan computes every fingerprint"
        )

    def get_many(self, keys: Iterable[bytes]) -> dict[bytes, CodeFingerprint]:
        """The stored fingerprints of these keys (those found and whole)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[bytes, CodeFingerprint] = {}
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
                    found[bytes(key)] = decode(bytes(data))
                except CorruptEntry:
                    corrupt.append(bytes(key))
            if corrupt:
                self.notice(
                    f"fingerprint cache {self.path.parent}: {len(corrupt)} damaged "
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

    def put_many(self, items: Iterable[tuple[bytes, CodeFingerprint]]) -> None:
        """Store these fingerprints (compact ones: `CodeFingerprint.compact`), then trim."""
        if self._conn is None:
            return
        now = time.time()
        rows = [(key, data, len(data), now) for key, data in ((k, encode(fp)) for k, fp in items)]
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
        """Least recently used entries out until the cache is within `max_bytes` (down to 80% of
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

    def __enter__(self) -> FingerprintCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class KnownFingerprints:
    """Fingerprints this run computed already (the task rules' pass parses every learner file
    once and fingerprints it from the same tree), in front of the cache, if any: what
    `fingerprint_many` finds here it neither reads nor computes again."""

    enabled = True

    def __init__(self, known: dict[bytes, CodeFingerprint], behind: FingerprintCache | None = None):
        self.known = known
        self.behind = behind

    def get_many(self, keys: Iterable[bytes]) -> dict[bytes, CodeFingerprint]:
        wanted = list(keys)
        found = {k: self.known[k] for k in wanted if k in self.known}
        if self.behind is not None:
            found.update(self.behind.get_many([k for k in wanted if k not in found]))
        return found

    def put_many(self, items: Iterable[tuple[bytes, CodeFingerprint]]) -> None:
        if self.behind is not None:
            self.behind.put_many(items)


def _difference(stored: dict, current: dict) -> str:
    """What changed between two fingerprint keys, for the notice."""
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
            parts.append("the fingerprinting code changed")
        else:
            parts.append(f"{name} {old} -> {new}")
    return ", ".join(parts)


__all__ = [
    "CACHE_FILE",
    "CorruptEntry",
    "FingerprintCache",
    "KnownFingerprints",
    "decode",
    "encode",
    "fingerprint_key",
    "text_key",
]
