"""The fingerprint cache: a file's compact fingerprint kept on disk, found again by its text.

A mentor re-runs a round after adding a handout, a late submission or a task file; the files that
did not change need not be parsed again. An entry is keyed by the SHA-256 of the file's text as
the checker fingerprints it (decoded; a notebook's code cells joined), and one cache holds the
entries of one *fingerprint key*: the `FingerprintParams`, a digest of the source of the modules
that make a fingerprint (this package's tokens, parse guard, fingerprints, and the hashing core),
libCST's version and Python's (its tokenizer). A run with another key empties the cache and says
so (`notice`); a changed file has another text, so another entry.

The store is `checker.code.textcache.TextCache` (shared with the review questions' facts cache):
one SQLite file (WAL, so that a second scan reading or writing at the same time waits, not fails),
written in one transaction per batch: a process killed mid-write leaves the last committed state.
Each entry carries a checksum: an entry that does not decode is dropped and recomputed, with a
notice, and a file that is not a readable database is set aside and started afresh. Nothing here
ever stops a scan: on an error the scan goes on without the cache and says why once. The size is
bounded (`defaults.FINGERPRINT_CACHE_MAX_BYTES`): the least recently used entries go first.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from checker import defaults
from checker.code.fingerprints import CodeFingerprint, FingerprintParams
from checker.code.textcache import CorruptEntry, Notice, TextCache, cache_key, seal, text_key, unseal
from checker.code.tokens import TokenStream, Unit

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
    "code/textcache.py",
)


def fingerprint_key(params: FingerprintParams) -> dict:
    """Everything besides the text that a fingerprint depends on."""
    return cache_key(_FORMAT, _SOURCES, params=asdict(params))


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
    return seal(_MAGIC, body)


def decode(data: bytes) -> CodeFingerprint:
    """`encode`'s fingerprint again; CorruptEntry when the bytes are not what it wrote."""
    body = unseal(_MAGIC, data)
    try:
        (size,) = struct.unpack("<I", body[:4])
        header = json.loads(body[4 : 4 + size].decode("utf-8"))
        at = 4 + size
        end = at + 8 * header["kgrams"]
        kgrams = np.frombuffer(body[at:end], dtype=np.uint64).copy()
        lines = np.frombuffer(zlib.decompress(body[end:]), dtype=np.int32).reshape(2, header["tokens"])
        units = [Unit(name, start, stop, first, last) for name, start, stop, first, last in header["units"]]
    except (ValueError, KeyError, TypeError, struct.error, zlib.error) as exc:
        raise CorruptEntry(f"{type(exc).__name__}: {exc}") from None
    stream = TokenStream(
        [], lines[0].tolist(), [], lines[1].tolist(), [], header["parser"], header["reason"], units
    )
    return CodeFingerprint(stream, kgrams)


class FingerprintCache(TextCache[CodeFingerprint]):
    """Fingerprints by text key, for one fingerprint key; `open` it, `get_many`, `put_many`
    (compact fingerprints: `CodeFingerprint.compact`).

    Every failure of the store itself is a notice and the cache is switched off for the rest of
    the run: the scan computes what it could not read, identically (tests/test_fingerprint_cache.py).
    """

    FILE = CACHE_FILE
    LABEL = "fingerprint cache"
    PARAMETERS = "fingerprint parameters"
    CODE_CHANGED = "the fingerprinting code changed"
    COMPUTES = "computes every fingerprint"
    MAX_BYTES = defaults.FINGERPRINT_CACHE_MAX_BYTES

    @classmethod
    def open(
        cls,
        folder: Path,
        params: FingerprintParams,
        notice: Notice | None = None,
        max_bytes: int | None = None,
    ) -> FingerprintCache:
        return cls.in_folder(folder, fingerprint_key(params), notice, max_bytes)

    def encode(self, value: CodeFingerprint) -> bytes:
        return encode(value)

    def decode(self, data: bytes) -> CodeFingerprint:
        return decode(data)


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
