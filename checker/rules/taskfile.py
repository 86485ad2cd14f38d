"""Load and validate a task file (`task.toml`): the mechanically checkable rules of one assessment.

The format is documented in `docs/task-file.md`. Validation is loud and specific: every error is a
`TaskFileError` naming the file, the key (`[rules].forbid_loops.files[0]`) and the reason, and an
unknown key suggests the closest known one, because a misspelt rule would otherwise be silently
unchecked.

The `[retrain]` table belongs to the reproduce-and-retrain stage, which validates it itself: it is
kept raw in `Task.retrain_table`. The `[notes]` table holds the task's norms for learners' notes
(`Task.notes`, read by `checker.notes.check`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import tomllib

from checker import defaults
from checker.rules.catalogue import RULES, SEVERITIES

TOP_LEVEL_KEYS = ("task", "rules", "retrain", "notes")
NOTES_KEYS = ("min_words", "min_own_share")
TASK_KEYS = ("name", "description", "url", "rounds")
RULE_KEYS = (
    "max_params",
    "forbid_pretrained",
    "forbid_model_zoo",
    "forbid_imports",
    "forbid_calls",
    "require_layers",
    "forbid_loops",
    "require_type_hints",
    "require_files",
    "forbid_files",
    "require_attribution",
    "severity",
)


class TaskFileError(ValueError):
    """A task file that cannot be used: names the file, the key and the reason."""

    def __init__(self, source: str, key: str, reason: str):
        self.source = source
        self.key = key
        self.reason = reason
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(where + reason)


# --- path globs ----------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a path glob into a regex (case-insensitive: learners' folder casing varies).

    `**` spans folders, `*` and `?` stay within one path segment, `[...]` is a character class.
    A pattern without `/` (other than a trailing one) matches in any folder (as in .gitignore);
    a pattern with `/` is anchored at the learner folder; a trailing `/` means "anything inside".
    """
    pat = pattern.strip()
    anchored = "/" in pat.rstrip("/")  # a trailing slash alone does not anchor (as in .gitignore)
    if pat.endswith("/"):
        pat += "**"
    if not anchored:
        pat = "**/" + pat
    pat = pat.lstrip("/")
    out: list[str] = []
    i = 0
    while i < len(pat):
        ch = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            end = pat.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
                i += 1
            else:
                body = pat[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(ch))
            i += 1
    return re.compile("".join(out) + r"\Z", re.IGNORECASE)


def path_matches(path: str, pattern: str) -> bool:
    """Whether a '/'-separated path relative to the learner folder matches a path glob."""
    norm = path.replace("\\", "/")
    while norm.startswith("./"):
        norm = norm[2:]
    return _glob_regex(pattern).match(norm.lstrip("/")) is not None


def name_matches(name: str, pattern: str) -> bool:
    """Whether a dotted qualified name matches a name pattern.

    A plain pattern matches the name itself and everything under it (`torchvision.models`
    matches `torchvision.models.resnet18`); `*` in a pattern is a wildcard that spans dots.
    """
    if any(c in pattern for c in "*?["):
        rx = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
        rx = re.sub(r"\\\[(.*?)\\\]", lambda m: "[" + m.group(1) + "]", rx)
        return re.fullmatch(rx + r"(?:\..*)?", name) is not None
    return name == pattern or name.startswith(pattern + ".")


# --- rule configuration values ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Where a file-level rule applies: path globs and function-name globs; empty means everywhere.

    A path glob starting with `!` excludes (a handout answer file, say) from what the others match.
    """

    files: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()

    def covers_file(self, path: str) -> bool:
        """Matches a positive glob (or there is none) and no `!`-negated glob."""
        positive = [g for g in self.files if not g.startswith("!")]
        negative = [g[1:] for g in self.files if g.startswith("!")]
        if positive and not any(path_matches(path, g) for g in positive):
            return False
        return not any(path_matches(path, g) for g in negative)

    def covers_function(self, qualname: str) -> bool:
        """`qualname` is `Class.method` / `outer.inner`, "" at module level.

        A function glob matches the full qualified name or its last part, and everything nested
        inside a matching function is covered too.
        """
        if not self.functions:
            return True
        if not qualname:
            return False
        parts = qualname.split(".")
        prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
        return any(
            re.fullmatch(_fn_glob(g), candidate) is not None
            for g in self.functions
            for full in prefixes
            for candidate in (full, full.rsplit(".", 1)[-1])
        )


def _fn_glob(pattern: str) -> str:
    return re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")


@dataclass(frozen=True)
class ForbiddenName:
    """A forbidden module (`forbid_imports`) or callable (`forbid_calls`), by qualified name."""

    pattern: str
    reason: str = ""
    scope: Scope = Scope()


@dataclass(frozen=True)
class PretrainedRule:
    scope: Scope = Scope()
    allow: tuple[str, ...] = ()  # extra callables whose `from_pretrained` takes a tensor, not a download


@dataclass(frozen=True)
class ModelZooRule:
    scope: Scope = Scope()
    extra: tuple[str, ...] = ()  # added to defaults.MODEL_ZOO_PATTERNS
    allow: tuple[str, ...] = ()  # exempted even when a zoo pattern matches

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(defaults.MODEL_ZOO_PATTERNS) + self.extra


@dataclass(frozen=True)
class RequiredLayer:
    any_of: tuple[str, ...]  # layer class names, e.g. ("LSTM", "GRU")
    reason: str = ""


@dataclass(frozen=True)
class LoopRule:
    scope: Scope = Scope()
    comprehensions: bool = True  # also report comprehensions / np.vectorize (NS302)


@dataclass(frozen=True)
class TypeHintRule:
    scope: Scope = Scope()
    returns: bool = True  # a return annotation is required too (never for __init__)


@dataclass(frozen=True)
class FilePattern:
    """A required or forbidden file: alternative globs, any one of which satisfies it."""

    any_of: tuple[str, ...]
    description: str = ""

    def label(self) -> str:
        return self.description or " or ".join(self.any_of)


@dataclass(frozen=True)
class AttributionRule:
    markers: tuple[str, ...] = ()  # regexes added to defaults.ATTRIBUTION_MARKERS
    llm_use: tuple[str, ...] = ()  # regexes added to defaults.LLM_USE_PATTERNS


@dataclass(frozen=True)
class Rules:
    """The validated `[rules]` table. None / empty means the rule is not part of this task."""

    max_params: int | None = None
    forbid_pretrained: PretrainedRule | None = None
    forbid_model_zoo: ModelZooRule | None = None
    forbid_imports: tuple[ForbiddenName, ...] = ()
    forbid_calls: tuple[ForbiddenName, ...] = ()
    require_layers: tuple[RequiredLayer, ...] = ()
    forbid_loops: LoopRule | None = None
    require_type_hints: TypeHintRule | None = None
    require_files: tuple[FilePattern, ...] = ()
    forbid_files: tuple[FilePattern, ...] = ()
    require_attribution: AttributionRule | None = None
    severity: Mapping[str, str] = field(default_factory=dict)  # rule code -> level or "off"


@dataclass(frozen=True)
class NotesRules:
    """The task's norms for notes (`[notes]`); None where the task sets none."""

    min_words: int | None = None  # words of the learner's own notes, all files together
    min_own_share: float | None = None  # share of the notes in the learner's own words, 0..1


@dataclass(frozen=True)
class Task:
    """One assessment task: its description and its rules."""

    name: str
    rules: Rules
    description: str = ""
    url: str = ""
    rounds: tuple[str, ...] = ()  # informational: round folders this task file was written for
    retrain_table: dict | None = None  # raw `[retrain]`, validated by the retrain stage
    source: str = ""  # the file it was read from
    notes: NotesRules = field(default_factory=NotesRules)  # `[notes]`: norms for learners' notes


# --- validation -----------------------------------------------------------------------------------


class _Validator:
    """Walks the parsed TOML with the current key path, raising TaskFileError on the first problem."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, reason: str) -> TaskFileError:
        return TaskFileError(self.source, key, reason)

    def known_keys(self, table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.fail(
                    f"{where}.{key}" if where else key,
                    f"unknown key{hint}; known keys: {', '.join(allowed)}",
                )

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_kind(value)}")
        return value

    def nonempty(self, value: Any, key: str) -> str:
        text = self.string(value, key).strip()
        if not text:
            raise self.fail(key, "must not be empty")
        return text

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {_kind(value)}")
        return value

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of strings, got {_kind(value)}")
        return tuple(self.nonempty(v, f"{key}[{i}]") for i, v in enumerate(value))

    def table(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {_kind(value)}")
        return value

    def regexes(self, value: Any, key: str) -> tuple[str, ...]:
        found = self.strings(value, key)
        for i, rx in enumerate(found):
            try:
                re.compile(rx)
            except re.error as exc:
                raise self.fail(f"{key}[{i}]", f"not a valid regular expression: {exc}") from None
        return found

    def globs(self, value: Any, key: str) -> tuple[str, ...]:
        return self.strings(value, key)

    def scope(self, table: Mapping[str, Any], key: str, functions: bool) -> Scope:
        files = self.globs(table["files"], f"{key}.files") if "files" in table else ()
        fns = ()
        if functions and "functions" in table:
            fns = self.strings(table["functions"], f"{key}.functions")
        return Scope(files=files, functions=fns)

    def alternatives(self, value: Any, key: str) -> tuple[str, ...]:
        """"LSTM|GRU" or ["LSTM", "GRU"] -> ("LSTM", "GRU")."""
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise self.fail(key, f"expected a string like \"LSTM|GRU\" or a list, got {_kind(value)}")
        out: list[str] = []
        for i, item in enumerate(items):
            text = self.nonempty(item, f"{key}[{i}]" if isinstance(value, list) else key)
            out.extend(p.strip() for p in text.split("|") if p.strip())
        if not out:
            raise self.fail(key, "must name at least one alternative")
        return tuple(out)


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMbBgG]?)\s*$")


def _max_params(v: _Validator, value: Any, key: str) -> int:
    """An integer (`20_000_000`) or a size string (`"20M"`, `"1.5M"`, `"500k"`)."""
    if isinstance(value, bool):
        raise v.fail(key, "expected a positive integer such as 20_000_000 or \"20M\", got a boolean")
    if isinstance(value, int):
        count = value
    elif isinstance(value, str) and (m := _SIZE.match(value)):
        scale = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9}[m.group(2).lower()]
        count = int(float(m.group(1)) * scale)
    else:
        raise v.fail(key, f"expected a positive integer such as 20_000_000 or \"20M\", got {value!r}")
    if count <= 0:
        raise v.fail(key, f"must be positive, got {count}")
    return count


def _bool_or_table(v: _Validator, value: Any, key: str, allowed: tuple[str, ...]) -> Mapping[str, Any] | None:
    """`true` -> {} (defaults), `false` -> None (rule off), a table -> the table (keys checked)."""
    if isinstance(value, bool):
        return {} if value else None
    if isinstance(value, dict):
        v.known_keys(value, allowed, key)
        return value
    raise v.fail(key, f"expected true, false or a table with keys {', '.join(allowed)}; got {_kind(value)}")


def _forbidden_names(v: _Validator, value: Any, key: str, name_key: str) -> tuple[ForbiddenName, ...]:
    if not isinstance(value, list):
        raise v.fail(key, f"expected a list of names or tables, got {_kind(value)}")
    out: list[ForbiddenName] = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        if isinstance(item, str):
            out.append(ForbiddenName(pattern=_dotted(v, item, where)))
        elif isinstance(item, dict):
            v.known_keys(item, (name_key, "reason", "files"), where)
            if name_key not in item:
                raise v.fail(where, f"missing '{name_key}'")
            out.append(
                ForbiddenName(
                    pattern=_dotted(v, item[name_key], f"{where}.{name_key}"),
                    reason=v.string(item.get("reason", ""), f"{where}.reason"),
                    scope=v.scope(item, where, functions=False),
                )
            )
        else:
            raise v.fail(where, f"expected a name string or a table with '{name_key}', got {_kind(item)}")
    return tuple(out)


_DOTTED = re.compile(r"^[\w*?\[\]]+(\.[\w*?\[\]]+)*$")


def _dotted(v: _Validator, value: Any, key: str) -> str:
    text = v.nonempty(value, key)
    if not _DOTTED.match(text):
        raise v.fail(key, f"expected a dotted name such as 'torch.hub.load' or 'timm', got {text!r}")
    return text


def _file_patterns(v: _Validator, value: Any, key: str) -> tuple[FilePattern, ...]:
    if not isinstance(value, list):
        raise v.fail(key, f"expected a list of globs or tables, got {_kind(value)}")
    out: list[FilePattern] = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        if isinstance(item, dict):
            v.known_keys(item, ("glob", "description"), where)
            if "glob" not in item:
                raise v.fail(where, "missing 'glob'")
            out.append(
                FilePattern(
                    any_of=v.alternatives(item["glob"], f"{where}.glob"),
                    description=v.string(item.get("description", ""), f"{where}.description"),
                )
            )
        else:
            out.append(FilePattern(any_of=v.alternatives(item, where)))
    return tuple(out)


def _required_layers(v: _Validator, value: Any, key: str) -> tuple[RequiredLayer, ...]:
    if not isinstance(value, list):
        raise v.fail(key, f"expected a list such as [\"LSTM|GRU\"], got {_kind(value)}")
    out: list[RequiredLayer] = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        if isinstance(item, dict):
            v.known_keys(item, ("any_of", "reason"), where)
            if "any_of" not in item:
                raise v.fail(where, "missing 'any_of'")
            out.append(
                RequiredLayer(
                    any_of=v.alternatives(item["any_of"], f"{where}.any_of"),
                    reason=v.string(item.get("reason", ""), f"{where}.reason"),
                )
            )
        else:
            out.append(RequiredLayer(any_of=v.alternatives(item, where)))
    return tuple(out)


def _severity(v: _Validator, value: Any, key: str) -> dict[str, str]:
    table = v.table(value, key)
    out: dict[str, str] = {}
    levels = SEVERITIES + ("off",)
    for code, level in table.items():
        where = f"{key}.{code}"
        if code not in RULES:
            close = difflib.get_close_matches(code, list(RULES), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise v.fail(where, f"unknown rule code{hint}; `checker rules` lists them")
        if level not in levels:
            raise v.fail(where, f"expected one of {', '.join(levels)}, got {level!r}")
        out[code] = level
    return out


def _rules(v: _Validator, table: Mapping[str, Any]) -> Rules:
    v.known_keys(table, RULE_KEYS, "[rules]")
    k = "[rules]."
    values: dict[str, Any] = {}
    if "max_params" in table:
        values["max_params"] = _max_params(v, table["max_params"], k + "max_params")
    if "forbid_pretrained" in table:
        t = _bool_or_table(v, table["forbid_pretrained"], k + "forbid_pretrained", ("files", "allow"))
        if t is not None:
            values["forbid_pretrained"] = PretrainedRule(
                scope=v.scope(t, k + "forbid_pretrained", functions=False),
                allow=tuple(_dotted(v, a, f"{k}forbid_pretrained.allow[{i}]")
                            for i, a in enumerate(v.strings(t.get("allow", []), k + "forbid_pretrained.allow"))),
            )
    if "forbid_model_zoo" in table:
        t = _bool_or_table(v, table["forbid_model_zoo"], k + "forbid_model_zoo", ("files", "extra", "allow"))
        if t is not None:
            values["forbid_model_zoo"] = ModelZooRule(
                scope=v.scope(t, k + "forbid_model_zoo", functions=False),
                extra=tuple(_dotted(v, a, f"{k}forbid_model_zoo.extra[{i}]")
                            for i, a in enumerate(v.strings(t.get("extra", []), k + "forbid_model_zoo.extra"))),
                allow=tuple(_dotted(v, a, f"{k}forbid_model_zoo.allow[{i}]")
                            for i, a in enumerate(v.strings(t.get("allow", []), k + "forbid_model_zoo.allow"))),
            )
    if "forbid_imports" in table:
        values["forbid_imports"] = _forbidden_names(v, table["forbid_imports"], k + "forbid_imports", "module")
    if "forbid_calls" in table:
        values["forbid_calls"] = _forbidden_names(v, table["forbid_calls"], k + "forbid_calls", "call")
    if "require_layers" in table:
        values["require_layers"] = _required_layers(v, table["require_layers"], k + "require_layers")
    if "forbid_loops" in table:
        t = _bool_or_table(v, table["forbid_loops"], k + "forbid_loops", ("files", "functions", "comprehensions"))
        if t is not None:
            values["forbid_loops"] = LoopRule(
                scope=v.scope(t, k + "forbid_loops", functions=True),
                comprehensions=v.boolean(t.get("comprehensions", True), k + "forbid_loops.comprehensions"),
            )
    if "require_type_hints" in table:
        t = _bool_or_table(v, table["require_type_hints"], k + "require_type_hints", ("files", "functions", "returns"))
        if t is not None:
            values["require_type_hints"] = TypeHintRule(
                scope=v.scope(t, k + "require_type_hints", functions=True),
                returns=v.boolean(t.get("returns", True), k + "require_type_hints.returns"),
            )
    if "require_files" in table:
        values["require_files"] = _file_patterns(v, table["require_files"], k + "require_files")
    if "forbid_files" in table:
        values["forbid_files"] = _file_patterns(v, table["forbid_files"], k + "forbid_files")
    if "require_attribution" in table:
        t = _bool_or_table(v, table["require_attribution"], k + "require_attribution", ("markers", "llm_use"))
        if t is not None:
            values["require_attribution"] = AttributionRule(
                markers=v.regexes(t.get("markers", []), k + "require_attribution.markers"),
                llm_use=v.regexes(t.get("llm_use", []), k + "require_attribution.llm_use"),
            )
    if "severity" in table:
        values["severity"] = _severity(v, table["severity"], k + "severity")
    return Rules(**values)


def _notes(v: _Validator, table: Mapping[str, Any]) -> NotesRules:
    v.known_keys(table, NOTES_KEYS, "[notes]")
    min_words = table.get("min_words")
    if min_words is not None and (isinstance(min_words, bool) or not isinstance(min_words, int)
                                  or min_words < 0):
        raise v.fail("[notes].min_words", f"expected a whole number of words >= 0, got "
                     f"{_kind(min_words) if not isinstance(min_words, int) else min_words}")
    share = table.get("min_own_share")
    if share is not None:
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise v.fail("[notes].min_own_share", "expected a share between 0 and 1 (0.5 = half), "
                         f"got {share if isinstance(share, (int, float)) and not isinstance(share, bool) else _kind(share)}")
        share = float(share)
    return NotesRules(min_words=min_words, min_own_share=share)


def parse_task(text: str, source: str = "task.toml") -> Task:
    """Validate task-file text; `source` names it in errors."""
    v = _Validator(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TaskFileError(source, "", f"not valid TOML: {exc}") from None
    v.known_keys(data, TOP_LEVEL_KEYS, "")
    for key in TOP_LEVEL_KEYS:
        if key in data and not isinstance(data[key], dict):
            raise v.fail(key, f"expected a table [{key}], got {_kind(data[key])}")
    task_table = data.get("task", {})
    v.known_keys(task_table, TASK_KEYS, "[task]")
    if "rules" not in data:
        raise v.fail("[rules]", "missing: a task file needs a [rules] table (it may be empty)")
    name = task_table.get("name", Path(source).stem)
    return Task(
        name=v.nonempty(name, "[task].name"),
        description=v.string(task_table.get("description", ""), "[task].description"),
        url=v.string(task_table.get("url", ""), "[task].url"),
        rounds=v.strings(task_table.get("rounds", []), "[task].rounds"),
        rules=_rules(v, data["rules"]),
        retrain_table=data.get("retrain"),
        source=source,
        notes=_notes(v, data.get("notes", {})),
    )


def load_task(path: str | Path) -> Task:
    """Read and validate a task file. Raises TaskFileError naming the file, the key and the reason."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise TaskFileError(source, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TaskFileError(source, "", "not UTF-8 text (TOML files must be UTF-8)") from None
    return parse_task(text, source)
