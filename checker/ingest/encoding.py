"""Decode bytes from learners' files: UTF-8 (with or without BOM), GB18030/GBK, cp1252.

Chinese submissions are often GBK; Western Windows editors write cp1252. Detection is ordered
strict decoding: a BOM wins, then the first encoding in `defaults.ENCODINGS` that decodes the
whole file without error. UTF-8 goes first because random GBK bytes almost never form valid
UTF-8, and GB18030 before cp1252 because cp1252 accepts nearly any byte string.
"""

from __future__ import annotations

import codecs

from checker import defaults

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class UndecodableError(ValueError):
    """The bytes are not text in any supported encoding (the message says which were tried)."""


def looks_binary(data: bytes) -> bool:
    """NUL bytes in the first 8 KiB mean a binary file (UTF-16 text is caught by its BOM first)."""
    return b"\x00" in data[:8192]


def decode_bytes(data: bytes, encodings: tuple[str, ...] = defaults.ENCODINGS) -> tuple[str, str]:
    """Return (text, encoding name). Raises UndecodableError naming the encodings tried."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name), name
    if looks_binary(data):
        raise UndecodableError("binary content (NUL bytes), not a text file")
    for name in encodings:
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            continue
    raise UndecodableError(f"not valid text in any of {', '.join(encodings)}")
