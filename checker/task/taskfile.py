"""Load and validate a task file (`task.toml`): the mechanically checkable rules of one assessment.

The format is documented in `docs/task-file.md`. Validation is loud and specific: every error is a
`TaskFileError` naming the file, the key (`[rules].forbid_loops.files[0]`) and the reason, and an
unknown key suggests the closest known one, because a misspelt rule would otherwise be silently
unchecked. The tables are checked against their schemas (`RULES_SCHEMA`, `TASK_SCHEMA`) by the
task file's one validator, `checker.task.schema`.

The `[retrain]` table belongs to the reproduce-and-retrain stage, which validates it with the same
validator (`checker.retrain.config`, raising a TaskFileError subclass): it is kept raw in
`Task.retrain_table`. The `[notes]` table holds the task's norms for learners' notes
(`Task.notes`, read by `checker.notes.check`); `[sources]` the public code the task tells learners
to use (`Task.expected_sources`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import tomllib

from checker import defaults
from checker.task.catalogue import RULES, SEVERITIES
from checker.task.schema import Checker, Field, describe, nonempty, string, strings

TOP_LEVEL_KEYS = ("task", "rules", "retrain", "notes", "sources")
NOTES_KEYS = ("min_words", "min_own_share")
SOURCES_KEYS = ("expected",)
# a source spec as `checker corpus add` takes it; checked fully where the corpus reads it
SOURCE_SPEC = re.compile(r"^(pypi:[A-Za-z0-9][A-Za-z0-9._-]*(==\S+)?|git:\S+|dir:\S+)$")


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
    # `[sources].expected`: public code the task tells learners to use or read (source specs as
    # `checker corpus add` takes them); corpus matches to it are expected use, not risk
    expected_sources: tuple[str, ...] = ()
    notes: NotesRules = field(default_factory=NotesRules)  # `[notes]`: norms for learners' notes


# --- validation -----------------------------------------------------------------------------------


class _Validator(Checker):
    """The shared table checker (`checker.task.schema`) with the rules' own kinds of values;
    every error is a TaskFileError naming this file."""

    def __init__(self, source: str):
        super().__init__(lambda key, reason: TaskFileError(source, key, reason))
        self.source = source

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
            raise self.fail(key, f"expected a string like \"LSTM|GRU\" or a list, got {describe(value)}")
        out: list[str] = []
        for i, item in enumerate(items):
            text = self.nonempty(item, f"{key}[{i}]" if isinstance(value, list) else key)
            out.extend(p.strip() for p in text.split("|") if p.strip())
        if not out:
            raise self.fail(key, "must name at least one alternative")
        return tuple(out)


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
    raise v.fail(key, f"expected true, false or a table with keys {', '.join(allowed)}; got {describe(value)}")


def _forbidden_names(v: _Validator, value: Any, key: str, name_key: str) -> tuple[ForbiddenName, ...]:
    if not isinstance(value, list):
        raise v.fail(key, f"expected a list of names or tables, got {describe(value)}")
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
            raise v.fail(where, f"expected a name string or a table with '{name_key}', got {describe(item)}")
    return tuple(out)


_DOTTED = re.compile(r"^[\w*?\[\]]+(\.[\w*?\[\]]+)*$")


def _dotted(v: _Validator, value: Any, key: str) -> str:
    text = v.nonempty(value, key)
    if not _DOTTED.match(text):
        raise v.fail(key, f"expected a dotted name such as 'torch.hub.load' or 'timm', got {text!r}")
    return text


def _alternatives_or_tables(v: _Validator, value: Any, key: str, expected: str, names: str,
                            text: str, make: Callable[..., Any]) -> tuple[Any, ...]:
    """A list whose items are alternatives ("LSTM|GRU", or a list of them) or tables holding
    them under `names` with an optional free text under `text`; each item becomes
    `make(any_of=..., [text]=...)`."""
    if not isinstance(value, list):
        raise v.fail(key, f"expected {expected}, got {describe(value)}")
    out = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        if isinstance(item, dict):
            v.known_keys(item, (names, text), where)
            if names not in item:
                raise v.fail(where, f"missing '{names}'")
            out.append(make(any_of=v.alternatives(item[names], f"{where}.{names}"),
                            **{text: v.string(item.get(text, ""), f"{where}.{text}")}))
        else:
            out.append(make(any_of=v.alternatives(item, where)))
    return tuple(out)


def _file_patterns(v: _Validator, value: Any, key: str) -> tuple[FilePattern, ...]:
    return _alternatives_or_tables(v, value, key, "a list of globs or tables", "glob",
                                   "description", FilePattern)


def _required_layers(v: _Validator, value: Any, key: str) -> tuple[RequiredLayer, ...]:
    return _alternatives_or_tables(v, value, key, 'a list such as ["LSTM|GRU"]', "any_of",
                                   "reason", RequiredLayer)


def _severity(v: _Validator, value: Any, key: str) -> dict[str, str]:
    table = v.mapping(value, key)
    out: dict[str, str] = {}
    levels = SEVERITIES + ("off",)
    for code, level in table.items():
        where = f"{key}.{code}"
        if code not in RULES:
            close = difflib.get_close_matches(code, list(RULES), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise v.fail(where, f"unknown rule code{hint}; `checker rules` lists them")
        out[code] = v.choice(level, where, levels)
    return out


def _dotted_list(v: _Validator, table: Mapping[str, Any], name: str, key: str) -> tuple[str, ...]:
    where = f"{key}.{name}"
    return tuple(_dotted(v, a, f"{where}[{i}]") for i, a in enumerate(v.strings(table.get(name, []), where)))


def _forbid_pretrained(v: _Validator, value: Any, key: str) -> PretrainedRule | None:
    t = _bool_or_table(v, value, key, ("files", "allow"))
    if t is None:
        return None
    return PretrainedRule(scope=v.scope(t, key, functions=False), allow=_dotted_list(v, t, "allow", key))


def _forbid_model_zoo(v: _Validator, value: Any, key: str) -> ModelZooRule | None:
    t = _bool_or_table(v, value, key, ("files", "extra", "allow"))
    if t is None:
        return None
    return ModelZooRule(scope=v.scope(t, key, functions=False), extra=_dotted_list(v, t, "extra", key),
                        allow=_dotted_list(v, t, "allow", key))


def _forbid_loops(v: _Validator, value: Any, key: str) -> LoopRule | None:
    t = _bool_or_table(v, value, key, ("files", "functions", "comprehensions"))
    if t is None:
        return None
    return LoopRule(scope=v.scope(t, key, functions=True),
                    comprehensions=v.boolean(t.get("comprehensions", True), f"{key}.comprehensions"))


def _require_type_hints(v: _Validator, value: Any, key: str) -> TypeHintRule | None:
    t = _bool_or_table(v, value, key, ("files", "functions", "returns"))
    if t is None:
        return None
    return TypeHintRule(scope=v.scope(t, key, functions=True),
                        returns=v.boolean(t.get("returns", True), f"{key}.returns"))


def _require_attribution(v: _Validator, value: Any, key: str) -> AttributionRule | None:
    t = _bool_or_table(v, value, key, ("markers", "llm_use"))
    if t is None:
        return None
    return AttributionRule(markers=v.regexes(t.get("markers", []), f"{key}.markers"),
                           llm_use=v.regexes(t.get("llm_use", []), f"{key}.llm_use"))


# The `[rules]` table: each key and how its value is checked (a rule set to false is None: off).
RULES_SCHEMA: dict[str, Field] = {
    "max_params": Field(_max_params),
    "forbid_pretrained": Field(_forbid_pretrained),
    "forbid_model_zoo": Field(_forbid_model_zoo),
    "forbid_imports": Field(lambda v, value, key: _forbidden_names(v, value, key, "module")),
    "forbid_calls": Field(lambda v, value, key: _forbidden_names(v, value, key, "call")),
    "require_layers": Field(_required_layers),
    "forbid_loops": Field(_forbid_loops),
    "require_type_hints": Field(_require_type_hints),
    "require_files": Field(_file_patterns),
    "forbid_files": Field(_file_patterns),
    "require_attribution": Field(_require_attribution),
    "severity": Field(_severity),
}
RULE_KEYS = tuple(RULES_SCHEMA)
TASK_SCHEMA: dict[str, Field] = {"name": nonempty(), "description": string(), "url": string(), "rounds": strings()}
TASK_KEYS = tuple(TASK_SCHEMA)


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
            raise v.fail(key, f"expected a table [{key}], got {describe(data[key])}")
    task = v.table(data.get("task", {}), "[task]", TASK_SCHEMA)
    if "rules" not in data:
        raise v.fail("[rules]", "missing: a task file needs a [rules] table (it may be empty)")
    rules = {key: value for key, value in v.table(data["rules"], "[rules]", RULES_SCHEMA).items()
             if value is not None}
    return Task(
        name=task.get("name") or v.nonempty(Path(source).stem, "[task].name"),
        description=task.get("description", ""),
        url=task.get("url", ""),
        rounds=task.get("rounds", ()),
        rules=Rules(**rules),
        retrain_table=data.get("retrain"),
        source=source,
        expected_sources=_expected_sources(v, data.get("sources", {})),
        notes=_notes(v, data.get("notes", {})),
    )


def _notes(v: _Validator, table: dict[str, Any]) -> NotesRules:
    v.known_keys(table, NOTES_KEYS, "[notes]")
    min_words = table.get("min_words")
    if min_words is not None and (isinstance(min_words, bool) or not isinstance(min_words, int)
                                  or min_words < 0):
        raise v.fail("[notes].min_words", "expected a whole number of words >= 0, got "
                     f"{min_words if isinstance(min_words, int) else describe(min_words)}")
    share = table.get("min_own_share")
    if share is not None:
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            shown = share if isinstance(share, (int, float)) and not isinstance(share, bool) else describe(share)
            raise v.fail("[notes].min_own_share", f"expected a share between 0 and 1 (0.5 = half), got {shown}")
        share = float(share)
    return NotesRules(min_words=min_words, min_own_share=share)


def _expected_sources(v: _Validator, table: dict[str, Any]) -> tuple[str, ...]:
    """`[sources] expected = ["pypi:yolov5", "git:https://github.com/lucidrains/vit-pytorch"]`."""
    v.known_keys(table, SOURCES_KEYS, "[sources]")
    specs = v.strings(table.get("expected", []), "[sources].expected")
    for i, spec in enumerate(specs):
        if not SOURCE_SPEC.match(spec):
            raise v.fail(f"[sources].expected[{i}]", f"{spec!r} is not a source spec: use "
                         "pypi:NAME[==VERSION], git:URL[@REF] or dir:PATH")
    return specs


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
