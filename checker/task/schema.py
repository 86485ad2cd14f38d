"""Task-file tables checked against a schema: the one validator of `[rules]`, `[retrain]` and
their sub-tables.

A schema maps each key of a table to a `Field`: how its value is checked and turned into what the
code uses (a number in a range, one of some choices, true or false, or a check of its own), and
whether it is required. `Checker.table` refuses unknown keys, suggesting the closest known one (a
misspelt rule or limit would otherwise be silently unchecked), reports a missing required key
with what to write, and checks every value. Every error is made by the caller's
`fail(key, reason)`, with `key` the full path (`[retrain].timeout_s`, `[rules].forbid_loops.files[0]`),
so it names the file, the table and the key.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Fail = Callable[[str, str], Exception]  # (key path, reason) -> the error to raise


@dataclass(frozen=True)
class Field:
    """One key of a table. `check(checker, value, key)` returns the value to use or raises
    `checker.fail(key, ...)`; `required`, when given, says what to write when the key is missing."""

    check: Callable[[Checker, Any, str], Any]
    required: str = ""


def describe(value: Any) -> str:
    """A value as an error message shows it: its kind, and itself when it is short."""
    kinds = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    kind = kinds.get(type(value), type(value).__name__)
    if isinstance(value, (bool, int, float, str)):
        shown = repr(value)
        return f"{kind} {shown}" if len(shown) <= 60 else f"{kind} {shown[:57]}..."
    return kind


class Checker:
    """Checks the tables of one file; `fail(key, reason)` makes the error to raise."""

    def __init__(self, fail: Fail):
        self.fail = fail

    @staticmethod
    def path(where: str, key: str) -> str:
        return f"{where}.{key}" if where else key

    # --- tables -------------------------------------------------------------------------------

    def table(self, value: Any, where: str, schema: Mapping[str, Field]) -> dict[str, Any]:
        """The checked values of the keys present in the table `value` (named `where`)."""
        mapping = self.mapping(value, where)
        self.known_keys(mapping, tuple(schema), where)
        for key, field in schema.items():
            if field.required and key not in mapping:
                raise self.fail(self.path(where, key), f"missing: {field.required}")
        return {key: field.check(self, mapping[key], self.path(where, key))
                for key, field in schema.items() if key in mapping}

    def known_keys(self, table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.fail(self.path(where, key), f"unknown key{hint}; known keys: {', '.join(allowed)}")

    def mapping(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a table, got {describe(value)}")
        return value

    # --- values -------------------------------------------------------------------------------

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {describe(value)}")
        return value

    def nonempty(self, value: Any, key: str) -> str:
        text = self.string(value, key).strip()
        if not text:
            raise self.fail(key, "must not be empty")
        return text

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {describe(value)}")
        return value

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        """A list of non-empty strings (one string is a list of one)."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of strings, got {describe(value)}")
        return tuple(self.nonempty(v, f"{key}[{i}]") for i, v in enumerate(value))

    def regexes(self, value: Any, key: str, *, groups: int = 0) -> tuple[str, ...]:
        found = self.strings(value, key)
        for i, rx in enumerate(found):
            self.regex(rx, f"{key}[{i}]", groups=groups)
        return found

    def regex(self, value: Any, key: str, *, groups: int = 0) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a regular expression string, got {describe(value)}")
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise self.fail(key, f"{value!r} is not a valid regular expression ({exc})") from None
        if compiled.groups < groups:
            raise self.fail(key, f"{value!r} needs a group around the number, e.g. 'acc: ([0-9.]+)'")
        return value

    def number(self, value: Any, key: str, *, positive: bool = False, minimum: float | None = None,
               integer: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(key, f"expected a number, got {value!r}")
        if integer and value != int(value):
            raise self.fail(key, f"expected a whole number, got {value!r}")
        if positive and value <= 0:
            raise self.fail(key, f"expected a positive number, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"expected a number >= {minimum}, got {value!r}")
        return float(value)

    def choice(self, value: Any, key: str, allowed: tuple[Any, ...]) -> Any:
        if isinstance(value, bool) or value not in allowed:
            raise self.fail(key, f"expected one of {', '.join(map(repr, allowed))}, got {value!r}")
        return value


# --- fields of the common kinds ---------------------------------------------------------------


def number(*, positive: bool = False, minimum: float | None = None, required: str = "") -> Field:
    return Field(lambda c, v, k: c.number(v, k, positive=positive, minimum=minimum), required)


def whole_number(*, positive: bool = False, required: str = "") -> Field:
    return Field(lambda c, v, k: int(c.number(v, k, positive=positive, integer=True)), required)


def choice(allowed: tuple[Any, ...], required: str = "") -> Field:
    return Field(lambda c, v, k: c.choice(v, k, allowed), required)


def boolean(required: str = "") -> Field:
    return Field(lambda c, v, k: c.boolean(v, k), required)


def string(required: str = "") -> Field:
    return Field(lambda c, v, k: c.string(v, k), required)


def nonempty(required: str = "") -> Field:
    return Field(lambda c, v, k: c.nonempty(v, k), required)


def strings(required: str = "") -> Field:
    return Field(lambda c, v, k: c.strings(v, k), required)
