"""The `[retrain]` table of task.toml, validated: `RetrainConfig.from_table`.

Checked by the task file's one validator (`checker.task.schema`, as `[rules]` is): unknown keys
are errors suggesting the closest known one, so a typo (`timout_s`) is caught instead of silently
ignored; every error is a `RetrainConfigError` naming the file, the table and the key
(`task.toml: [retrain].timeout_s: expected a positive number, got -5`). Paths are resolved
against the task file's folder. The keys are documented in docs/retrain.md.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from checker import defaults
from checker.retrain.claims import UNITS
from checker.task.schema import Checker, Field, boolean, choice, number, whole_number
from checker.task.taskfile import TaskFileError
from checker.sandbox.limits import NETWORK_POLICIES, SandboxLimits

DIRECTIONS = ("max", "min")


class RetrainConfigError(TaskFileError):
    """A `[retrain]` key is missing, unknown or has a wrong value; the message names the file,
    the table and the key."""



@dataclass(frozen=True)
class ShortMode:
    """`[retrain.short]`: a quick check with fewer epochs or a data subset.

    The run always sees NOSHORTCUT_SHORT=1; `env` adds variables (EPOCHS = "1"), `command`
    replaces the training command. A short run cannot reach the full run's accuracy, so it is
    compared with `target` where given, else with the claim under a looser `tolerance`.
    """

    command: str | tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    target: float | None = None
    tolerance: float | None = None
    timeout_s: float | None = None


@dataclass(frozen=True)
class RetrainConfig:
    """The validated `[retrain]` table of one task. Paths are resolved against task.toml."""

    metric: str
    command: str | tuple[str, ...] | None = None
    target: float | None = None
    tolerance: float = defaults.RETRAIN_TOLERANCE
    timeout_s: float = defaults.RETRAIN_TIMEOUT_S
    direction: str = "max"  # max: higher is better (accuracy); min: lower is better (loss)
    unit: str = "raw"  # raw | fraction (0..1, "66.3%" read as 0.663) | percent (0..100)
    metric_regex: str | None = None  # read the metric from the log when the run writes no JSON
    data: Path | None = None  # host folder shown read-only to the run
    data_mount: str | None = None  # where, relative to the submission (default: same path)
    env: Mapping[str, str] = field(default_factory=dict)
    checkpoint: str | None = None  # file (glob) the run writes, relative to the submission
    params_hook: Path | None = None  # a task script that counts parameters of a checkpoint
    claims_file: str = defaults.RETRAIN_CLAIMS_FILE
    claim_patterns: tuple[str, ...] = ()
    submission_command: bool = True  # may a submission's retrain.toml replace `command`?
    memory_mb: int = defaults.RETRAIN_MEMORY_MB
    max_procs: int = defaults.RETRAIN_MAX_PROCS
    max_file_mb: int = defaults.RETRAIN_MAX_FILE_MB
    tmp_mb: int = defaults.RETRAIN_TMP_MB
    disk_mb: int = defaults.RETRAIN_DISK_MB
    cpus: int = defaults.RETRAIN_CPUS
    gpu: bool = False
    network: str = defaults.RETRAIN_NETWORK_POLICY
    max_submission_mb: int = defaults.RETRAIN_MAX_SUBMISSION_MB
    short: ShortMode | None = None
    task_dir: Path = Path(".")

    @classmethod
    def from_table(cls, table: Mapping, task_path: Path) -> RetrainConfig:
        """Validate a raw `[retrain]` table (as tomllib returns it); RetrainConfigError names
        the key and says what is expected."""
        return _parse_table(table, Path(task_path))

    def limits(self, short: bool = False) -> SandboxLimits:
        timeout = self.timeout_s
        if short and self.short and self.short.timeout_s:
            timeout = self.short.timeout_s
        return SandboxLimits(
            timeout_s=timeout,
            memory_mb=self.memory_mb,
            max_procs=self.max_procs,
            max_file_mb=self.max_file_mb,
            tmp_mb=self.tmp_mb,
            disk_mb=self.disk_mb,
            cpus=self.cpus,
            network=self.network,
            gpu=self.gpu,
        )



# --- checks of the retrain stage's own kinds of values ------------------------------------------


def check_command(c: Checker, value: Any, key: str) -> str | tuple[str, ...]:
    """A command line ("python train.py") or its words (["python", "train.py"])."""
    if isinstance(value, str):
        if not value.strip():
            raise c.fail(key, "is empty")
        try:
            shlex.split(value)
        except ValueError as exc:
            raise c.fail(key, f"cannot be split into words ({exc})") from None
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise c.fail(key, f'expected a string ("python train.py") or a list of strings, got {value!r}')


def _metric_name(c: Checker, value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise c.fail(key, f"expected a non-empty string, got {value!r}")
    if not re.fullmatch(r"[\w.\-]+", value):
        raise c.fail(key, f"{value!r} is not a plain name (letters, digits, _ . -)")
    return value


def _env(c: Checker, value: Any, key: str) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise c.fail(key, 'expected a table, e.g. env = { EPOCHS = "1" }')
    env = {}
    for name, item in value.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise c.fail(key, f"{name!r} is not an environment variable name")
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise c.fail(key, f"{name} = {item!r}: expected a string or a number")
        env[name] = str(item)
    return MappingProxyType(env)


def _relative(c: Checker, value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise c.fail(key, f"expected a relative path, got {value!r}")
    if value.startswith("/") or ".." in Path(value).parts:
        raise c.fail(key, f"{value!r} must stay inside the submission (relative, no '..')")
    return value


def _existing(kind: str, task_dir: Path) -> Field:
    """A host path relative to the task file that must exist and be a `kind` ("folder", "file")."""

    def check(c: Checker, value: Any, key: str) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise c.fail(key, f"expected a path, got {value!r}")
        path = (task_dir / os.path.expanduser(value)).resolve()
        if not path.exists():
            raise c.fail(key, f"{path} does not exist")
        if not (path.is_dir() if kind == "folder" else path.is_file()):
            raise c.fail(key, f"{path} is not a {kind}")
        return path

    return Field(check)


def _claim_patterns(c: Checker, value: Any, key: str) -> tuple[str, ...]:
    patterns = [value] if isinstance(value, str) else value
    if not isinstance(patterns, list):
        raise c.fail(key, "expected a list of regular expressions")
    return tuple(c.regex(p, key, groups=1) for p in patterns)


# --- the tables ---------------------------------------------------------------------------------

# `[retrain.short]`: what a quick check (`--short`) changes.
SHORT_SCHEMA: dict[str, Field] = {
    "command": Field(check_command),
    "env": Field(_env),
    "target": number(),
    "tolerance": number(minimum=0.0),
    "timeout_s": number(positive=True),
}


def retrain_schema(task_dir: Path) -> dict[str, Field]:
    """The `[retrain]` table: each key and how its value is checked (paths against `task_dir`)."""
    return {
        "command": Field(check_command),
        "metric": Field(_metric_name, required='name the metric the run reports, e.g. metric = "accuracy"'),
        "target": number(),
        "tolerance": number(minimum=0.0),
        "timeout_s": number(positive=True),
        "direction": choice(DIRECTIONS),
        "unit": choice(UNITS),
        "metric_regex": Field(lambda c, v, k: c.regex(v, k, groups=1)),
        "data": _existing("folder", task_dir),
        "data_mount": Field(_relative),
        "env": Field(_env),
        "checkpoint": Field(_relative),
        "params_hook": _existing("file", task_dir),
        "claims_file": Field(_relative),
        "claim_patterns": Field(_claim_patterns),
        "submission_command": boolean(),
        "memory_mb": whole_number(positive=True),
        "max_procs": whole_number(positive=True),
        "max_file_mb": whole_number(positive=True),
        "tmp_mb": whole_number(positive=True),
        "disk_mb": whole_number(positive=True),
        "cpus": whole_number(positive=True),
        "gpu": boolean(),
        "network": choice(NETWORK_POLICIES),
        "max_submission_mb": whole_number(positive=True),
        "short": Field(lambda c, v, k: ShortMode(**c.table(v, "[retrain.short]", SHORT_SCHEMA))),
    }


def _parse_table(table: Mapping, task_path: Path) -> RetrainConfig:
    source = str(task_path)
    c = Checker(lambda key, reason: RetrainConfigError(source, key, reason))
    task_dir = task_path.parent.resolve()
    values = c.table(table, "[retrain]", retrain_schema(task_dir))
    if "data_mount" in values and "data" not in values:
        raise c.fail("[retrain].data_mount", "given without `data` (the folder to mount)")
    if "command" not in values and values.get("submission_command") is False:
        raise c.fail("[retrain].command", "missing, and submission_command = false forbids per-submission commands")
    return RetrainConfig(**values, task_dir=task_dir)
