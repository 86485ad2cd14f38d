"""Learner-controlled text (ids, file paths, corpus names) made safe for the places we write it.

A learner picks their folder name and their file names, so a report shows hostile text:

* a spreadsheet runs a CSV cell that starts with `=`, `+`, `-` or `@` as a formula
  (`=HYPERLINK(...)`): `csv_cell` prefixes such text cells with `'` (OWASP's CSV-injection rule);
* a bidirectional control character (U+202E RIGHT-TO-LEFT OVERRIDE...) reorders what follows it
  (`evil\\u202egnp.py` shows as `evilyp.png`), and a C0/C1 control (ESC...) drives a terminal:
  `visible_controls` writes each of them as an escape (`\\u202e`, `\\x1b`) that shows what is there.

The HTML report and the terminal view use these through `checker.report.html.filters` (jinja2 filters) and
`checker.report.terminal`; report.json, pairs.csv and SARIF keep the characters themselves (data), except
for the CSV formula prefix.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Unicode's explicit directional formatting characters: embeddings and overrides (U+202A-U+202E),
# isolates (U+2066-U+2069) and the marks (LRM, RLM, ALM).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_BIDI_CLASS = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
# Names and paths: bidi controls, every C0 control (tab and newline included), DEL and C1.
_NAME_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_CLASS}]")
# Text of several lines (code, logs, messages): the same, but tab and newline stay as they are.
_TEXT_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_CLASS}]")

# A spreadsheet reads a cell starting with one of these as a formula (OWASP: CSV injection).
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def control_escape(char: str) -> str:
    """`\\u202e` for U+202E, `\\x1b` for ESC: how Python writes the character in a string."""
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def control_name(char: str) -> str:
    """`U+202E RIGHT-TO-LEFT OVERRIDE` (C0/C1 controls have no Unicode name: `U+001B`)."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def unsafe_pattern(multiline: bool = False) -> re.Pattern[str]:
    """The characters `visible_controls` escapes; `multiline` keeps tab and newline."""
    return _TEXT_UNSAFE if multiline else _NAME_UNSAFE


def visible_controls(text: str, multiline: bool = False) -> str:
    """`text` with every bidi and C0/C1 control written as its escape (`\\u202e`, `\\x1b`).

    For names and paths; `multiline=True` keeps tab and newline (code, logs, messages)."""
    text = str(text)
    pattern = unsafe_pattern(multiline)
    if not pattern.search(text):
        return text
    return pattern.sub(lambda m: control_escape(m.group()), text)


def csv_cell(value):
    """A text cell that a spreadsheet would run as a formula, prefixed with `'`; other values
    (numbers the checker writes) as they are."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_row(values: Iterable) -> list:
    """`csv_cell` applied to every cell: what every CSV writer of the checker writes."""
    return [csv_cell(v) for v in values]


__all__ = [
    "BIDI_CONTROLS",
    "CSV_FORMULA_PREFIXES",
    "control_escape",
    "control_name",
    "csv_cell",
    "csv_row",
    "unsafe_pattern",
    "visible_controls",
]
