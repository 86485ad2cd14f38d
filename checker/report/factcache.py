"""The review questions' facts cache: a file's libCST facts (`questions.code_facts`) kept on disk,
found again by its text, so that a re-scan does not parse the questioned files again.

The questions of a 1,000-learner round parse every file of a matched region; on a re-scan whose
fingerprints come from `checker.code.fpcache` that parse was half of the time left. The facts
depend only on the text and on the code that reads them, so an entry is keyed by the SHA-256 of
the text and one cache holds one *facts key*: a digest of the source of the modules that decide
the facts (`_SOURCES`: the questions, the read-only walk, the parse guard, this encoding and the
store), libCST's version and Python's. It lives beside the fingerprint cache (`questions.sqlite`
in the same folder; `scan --no-cache` uses neither) and keeps its rules, being the same store
(`checker.code.textcache.TextCache`): WAL, one transaction per batch, a checksum per entry, a
damaged entry recomputed with a notice, an unreadable file set aside, another key empties it with
a notice, least recently used entries out beyond `defaults.QUESTION_FACTS_CACHE_MAX_BYTES`, and
never a stopped scan.

Entries are JSON (`encode`, `decode`), never pickle: a cache folder may be planted by someone else,
and unpickling runs code. `decode` checks every field's type, so a planted entry can at worst give
wrong facts, not an error later in the scan. A file libCST cannot parse is stored as `null` (its
questions then read the matched lines alone, as without the cache).
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

from checker import defaults
from checker.code.textcache import CorruptEntry, Notice, TextCache, cache_key, seal, unseal
from checker.report.questions import _Def, _Facts, _Spot

CACHE_FILE = "questions.sqlite"
# bumped when the entry layout below changes (the key then differs: the cache is emptied)
_FORMAT = 1
_MAGIC = b"NSQF"
# the modules (inside the `checker` package) whose code decides a file's facts: `code_facts`, the
# visitor and the constants it reads, the walk and positions, the parse it goes through, and how
# an entry is written
_SOURCES = (
    "report/questions.py",
    "code/cst_walk.py",
    "code/parse_guard.py",
    "report/factcache.py",
    "code/textcache.py",
)
_SPOT_LISTS = ("constants", "shapes", "removals")


def facts_key() -> dict:
    """Everything besides the text that a file's facts depend on."""
    return cache_key(_FORMAT, _SOURCES)


def encode(facts: _Facts | None) -> bytes:
    """`facts` (None: a file libCST cannot parse) as checksummed, compressed JSON."""
    doc: dict | None = None
    if facts is not None:
        doc = {"defs": [[d.kind, d.name, d.start, d.end] for d in facts.defs]}
        for name in _SPOT_LISTS:
            doc[name] = [
                [s.line, s.end, s.code, s.score, list(s.detail), s.short] for s in getattr(facts, name)
            ]
    # ASCII JSON: a lone surrogate of an undecodable byte travels as `\udcxx` and comes back
    body = json.dumps(doc, separators=(",", ":")).encode("ascii")
    return seal(_MAGIC, zlib.compress(body, 1))


def decode(data: bytes) -> _Facts | None:
    """`encode`'s facts again; CorruptEntry when the bytes are not what it wrote."""
    body = unseal(_MAGIC, data)
    try:
        doc = json.loads(zlib.decompress(body))
        if doc is None:
            return None
        if not isinstance(doc, dict) or set(doc) != {"defs", *_SPOT_LISTS}:
            raise CorruptEntry("not a facts entry")
        return _Facts(_checked(doc["defs"], _def), *[_checked(doc[name], _spot) for name in _SPOT_LISTS])
    except CorruptEntry:
        raise
    except (ValueError, TypeError, zlib.error) as exc:
        raise CorruptEntry(f"{type(exc).__name__}: {exc}") from None


def _checked(rows, make) -> list:
    if not isinstance(rows, list):
        raise CorruptEntry("not a list")
    return [make(*row) for row in rows]


def _is_int(value) -> bool:
    return type(value) is int  # bool is an int to isinstance


def _def(kind, name, start, end) -> _Def:
    if not (isinstance(kind, str) and isinstance(name, str) and _is_int(start) and _is_int(end)):
        raise CorruptEntry("a def of other types")
    return _Def(kind, name, start, end)


def _spot(line, end, code, score, detail, short) -> _Spot:
    if not (
        _is_int(line)
        and _is_int(end)
        and isinstance(code, str)
        and type(score) in (int, float)
        and isinstance(detail, list)
        and all(isinstance(d, str) for d in detail)
        and isinstance(short, str)
    ):
        raise CorruptEntry("a spot of other types")
    return _Spot(line, end, code, score, tuple(detail), short)


class FactsCache(TextCache[_Facts | None]):
    """A file's facts by text key; `open` it in the cache folder, `get_many`, `put_many`."""

    FILE = CACHE_FILE
    LABEL = "question facts cache"
    PARAMETERS = "code or versions"
    CODE_CHANGED = "the code that reads the facts changed"
    COMPUTES = "parses every questioned file"
    MAX_BYTES = defaults.QUESTION_FACTS_CACHE_MAX_BYTES

    @classmethod
    def open(cls, folder: Path, notice: Notice | None = None, max_bytes: int | None = None) -> FactsCache:
        return cls.in_folder(folder, facts_key(), notice, max_bytes)

    def encode(self, value: _Facts | None) -> bytes:
        return encode(value)

    def decode(self, data: bytes) -> _Facts | None:
        return decode(data)


__all__ = ["CACHE_FILE", "FactsCache", "decode", "encode", "facts_key"]
