"""Reproduce and retrain: re-run a learner's training in the sandbox and compare with the claim.

A learner writes "test accuracy 66.3% with 18.2M parameters". The checker copies the submission
into a scratch folder, runs the task's training command there under `checker.sandbox.run` (no
network, no view of anything else, CPU/memory/time limits), reads the metric the run reports,
counts the parameters of the checkpoint it wrote (in a second sandboxed run: loading a pickled
model executes learner code), and compares both with the claim and with the task's limits.

Outcomes are values with reasons a mentor can read out (`RetrainResult.status`):
reproduced | not_reproduced | over_budget | failed | timed_out | skipped.

The `[retrain]` table of task.toml is validated here (`RetrainConfig.from_table`); unknown keys
are errors, so a typo (`timout_s`) is caught instead of silently ignored.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType

import tomllib

from checker import defaults
from checker.retrain.claims import (
    UNITS,
    Claims,
    normalise,
    parse_figure,
    parse_param_count,
    read_claims,
)
from checker.sandbox import checkpoint_count
from checker.sandbox.limits import (
    NETWORK_POLICIES,
    Mount,
    RunFailed,
    RunOk,
    RunOutcome,
    RunRefused,
    RunTimeout,
    SandboxLimits,
)
from checker.sandbox.logs import last_error_line
from checker.sandbox.run import run_in_sandbox
from checker.sandbox.scratch import (
    Scratch,
    ScratchRefused,
    prepare_scratch,
    read_sandbox_file,
)

STATUSES = ("reproduced", "not_reproduced", "over_budget", "failed", "timed_out", "skipped")
DIRECTIONS = ("max", "min")


class RetrainConfigError(ValueError):
    """A `[retrain]` key is missing, unknown or has a wrong value; the message names it."""


# ----------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------


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


_KEYS = {
    "command", "metric", "target", "tolerance", "timeout_s", "direction", "unit", "metric_regex",
    "data", "data_mount", "env", "checkpoint", "params_hook", "claims_file", "claim_patterns",
    "submission_command", "memory_mb", "max_procs", "max_file_mb", "tmp_mb", "disk_mb", "cpus", "gpu",
    "network", "max_submission_mb", "short",
}
_SHORT_KEYS = {"command", "env", "target", "tolerance", "timeout_s"}


def _parse_table(table: Mapping, task_path: Path) -> RetrainConfig:
    where = f"{task_path}: [retrain]"

    def fail(key: str, problem: str) -> RetrainConfigError:
        return RetrainConfigError(f"{where} {key}: {problem}")

    if not isinstance(table, Mapping):
        raise RetrainConfigError(f"{where}: expected a table, got {type(table).__name__}")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key (known keys: {', '.join(sorted(_KEYS))})")
    task_dir = task_path.parent.resolve()
    values: dict = {"task_dir": task_dir}

    if "metric" not in table:
        raise fail("metric", 'missing: name the metric the run reports, e.g. metric = "accuracy"')
    values["metric"] = _string(table["metric"], lambda p: fail("metric", p), pattern=r"[\w.\-]+")
    if "command" in table:
        values["command"] = _command(table["command"], lambda p: fail("command", p))
    for key in ("target",):
        if key in table:
            values[key] = _number(table[key], lambda p, k=key: fail(k, p))
    for key in ("tolerance",):
        if key in table:
            values[key] = _number(table[key], lambda p, k=key: fail(k, p), minimum=0.0)
    if "timeout_s" in table:
        values["timeout_s"] = _number(table["timeout_s"], lambda p: fail("timeout_s", p), positive=True)
    for key in ("memory_mb", "max_procs", "max_file_mb", "tmp_mb", "disk_mb", "cpus", "max_submission_mb"):
        if key in table:
            values[key] = int(_number(table[key], lambda p, k=key: fail(k, p), positive=True, integer=True))
    for key, allowed in (("direction", DIRECTIONS), ("unit", UNITS), ("network", NETWORK_POLICIES)):
        if key in table:
            if table[key] not in allowed:
                raise fail(key, f"expected one of {', '.join(map(repr, allowed))}, got {table[key]!r}")
            values[key] = table[key]
    for key in ("gpu", "submission_command"):
        if key in table:
            if not isinstance(table[key], bool):
                raise fail(key, f"expected true or false, got {table[key]!r}")
            values[key] = table[key]
    if "metric_regex" in table:
        values["metric_regex"] = _regex(table["metric_regex"], lambda p: fail("metric_regex", p))
    if "claim_patterns" in table:
        patterns = table["claim_patterns"]
        if isinstance(patterns, str):
            patterns = [patterns]
        if not isinstance(patterns, list):
            raise fail("claim_patterns", "expected a list of regular expressions")
        values["claim_patterns"] = tuple(_regex(p, lambda e: fail("claim_patterns", e)) for p in patterns)
    if "env" in table:
        values["env"] = _env(table["env"], lambda p: fail("env", p))
    if "claims_file" in table:
        values["claims_file"] = _relative(table["claims_file"], lambda p: fail("claims_file", p))
    if "checkpoint" in table:
        values["checkpoint"] = _relative(table["checkpoint"], lambda p: fail("checkpoint", p))
    if "data_mount" in table:
        values["data_mount"] = _relative(table["data_mount"], lambda p: fail("data_mount", p))
    if "data" in table:
        data = _existing_path(table["data"], task_dir, lambda p: fail("data", p))
        if not data.is_dir():
            raise fail("data", f"{data} is not a folder")
        values["data"] = data
    elif "data_mount" in table:
        raise fail("data_mount", "given without `data` (the folder to mount)")
    if "params_hook" in table:
        hook = _existing_path(table["params_hook"], task_dir, lambda p: fail("params_hook", p))
        if not hook.is_file():
            raise fail("params_hook", f"{hook} is not a file")
        values["params_hook"] = hook
    if "short" in table:
        values["short"] = _short(table["short"], f"{task_path}: [retrain.short]")
    if "command" not in values and values.get("submission_command") is False:
        raise fail("command", "missing, and submission_command = false forbids per-submission commands")
    return RetrainConfig(**values)


def _short(table: object, where: str) -> ShortMode:
    def fail(key: str, problem: str) -> RetrainConfigError:
        return RetrainConfigError(f"{where} {key}: {problem}")

    if not isinstance(table, Mapping):
        raise RetrainConfigError(f"{where}: expected a table")
    unknown = sorted(set(table) - _SHORT_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key (known keys: {', '.join(sorted(_SHORT_KEYS))})")
    values: dict = {}
    if "command" in table:
        values["command"] = _command(table["command"], lambda p: fail("command", p))
    if "env" in table:
        values["env"] = _env(table["env"], lambda p: fail("env", p))
    if "target" in table:
        values["target"] = _number(table["target"], lambda p: fail("target", p))
    if "tolerance" in table:
        values["tolerance"] = _number(table["tolerance"], lambda p: fail("tolerance", p), minimum=0.0)
    if "timeout_s" in table:
        values["timeout_s"] = _number(table["timeout_s"], lambda p: fail("timeout_s", p), positive=True)
    return ShortMode(**values)


def _number(value, fail, *, positive=False, minimum=None, integer=False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise fail(f"expected a number, got {value!r}")
    if integer and value != int(value):
        raise fail(f"expected a whole number, got {value!r}")
    if positive and value <= 0:
        raise fail(f"expected a positive number, got {value!r}")
    if minimum is not None and value < minimum:
        raise fail(f"expected a number >= {minimum}, got {value!r}")
    return float(value)


def _string(value, fail, *, pattern: str | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(f"expected a non-empty string, got {value!r}")
    if pattern and not re.fullmatch(pattern, value):
        raise fail(f"{value!r} is not a plain name (letters, digits, _ . -)")
    return value


def _command(value, fail) -> str | tuple[str, ...]:
    if isinstance(value, str):
        if not value.strip():
            raise fail("is empty")
        try:
            shlex.split(value)
        except ValueError as exc:
            raise fail(f"cannot be split into words ({exc})") from None
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise fail(f'expected a string ("python train.py") or a list of strings, got {value!r}')


def _regex(value, fail) -> str:
    if not isinstance(value, str):
        raise fail(f"expected a regular expression string, got {value!r}")
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise fail(f"{value!r} is not a valid regular expression ({exc})") from None
    if compiled.groups < 1:
        raise fail(f"{value!r} needs a group around the number, e.g. 'acc: ([0-9.]+)'")
    return value


def _env(value, fail) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise fail('expected a table, e.g. env = { EPOCHS = "1" }')
    env = {}
    for key, item in value.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise fail(f"{key!r} is not an environment variable name")
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise fail(f"{key} = {item!r}: expected a string or a number")
        env[key] = str(item)
    return MappingProxyType(env)


def _relative(value, fail) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(f"expected a relative path, got {value!r}")
    if value.startswith("/") or ".." in Path(value).parts:
        raise fail(f"{value!r} must stay inside the submission (relative, no '..')")
    return value


def _existing_path(value, task_dir: Path, fail) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise fail(f"expected a path, got {value!r}")
    path = (task_dir / os.path.expanduser(value)).resolve()
    if not path.exists():
        raise fail(f"{path} does not exist")
    return path


# ----------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetrainResult:
    """One submission's re-run, compared. `reason` is the sentence for the review meeting."""

    status: str
    reason: str
    submission: str
    metric: str
    claimed: float | None = None
    claim_source: str | None = None
    reached: float | None = None
    target: float | None = None
    tolerance: float | None = None
    gap: float | None = None  # reached - claimed (or - target when nothing is claimed)
    params: int | None = None
    claimed_params: int | None = None
    max_params: int | None = None
    short: bool = False
    command: str | None = None
    duration_s: float | None = None
    peak_memory_mb: float | None = None
    log_tail: str = ""
    log_path: str | None = None
    isolation: dict | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["warnings"] = list(self.warnings)
        return data


# ----------------------------------------------------------------------------------------
# Running one submission
# ----------------------------------------------------------------------------------------


def retrain_submission(
    submission_dir: Path,
    config: RetrainConfig,
    *,
    max_params: int | None,
    short: bool = False,
    log_dir: Path | None = None,
) -> RetrainResult:
    """Re-run one submission's training in the sandbox and compare it with the claim.

    `max_params` is the task's `[rules] max_params` (None: no budget). `log_dir`, when given,
    keeps the run's log as `<submission folder name>.log` there.
    """
    submission_dir = Path(submission_dir)
    short_mode = config.short if short else None
    tolerance = short_mode.tolerance if short_mode and short_mode.tolerance is not None else config.tolerance
    target = short_mode.target if short_mode and short_mode.target is not None else config.target
    base = {
        "submission": str(submission_dir),
        "metric": config.metric,
        "target": target,
        "tolerance": tolerance,
        "max_params": max_params,
        "short": short,
    }
    if not submission_dir.is_dir():
        return RetrainResult("skipped", f"{submission_dir} is not a folder", **base)

    command, notes = _command_for(submission_dir, config, short)
    if command is None:
        return RetrainResult("skipped", notes[0], **base, warnings=tuple(notes[1:]))
    base["command"] = command if isinstance(command, str) else shlex.join(command)

    claims = read_claims(submission_dir, config.metric, unit=config.unit,
                         claims_file=config.claims_file, patterns=config.claim_patterns)
    notes += list(claims.warnings)
    if claims.metric:
        base.update(claimed=claims.metric.value, claim_source=f"{claims.metric.source}: {claims.metric.quote}")
        if config.unit == "raw" and re.search(r"\d\s*[%％]", claims.metric.quote):
            notes.append("the claim is written as a percentage but the task's unit is raw; set "
                         '[retrain] unit = "fraction" or "percent" so that 66.3% and 0.663 compare')
    if claims.params:
        base["claimed_params"] = int(claims.params.value)
    # A short run cannot match a full run's claim; with a short target it is judged on that.
    compare_with_claim = claims.metric is not None and not (short_mode and short_mode.target is not None)
    if not compare_with_claim and target is None:
        return RetrainResult(
            "skipped",
            f"nothing to compare with: no claimed {config.metric} in {config.claims_file}, the README "
            "or the notes, and the task sets no target",
            **base, warnings=tuple(notes),
        )

    try:
        scratch = prepare_scratch(submission_dir, max_bytes=config.max_submission_mb * 2**20)
    except ScratchRefused as exc:
        return RetrainResult("skipped", str(exc), **base, warnings=tuple(notes))
    with scratch:
        return _run_and_judge(submission_dir, scratch, config, command, short, short_mode, base,
                              compare_with_claim, claims, notes, log_dir)


def _run_and_judge(submission_dir, scratch: Scratch, config: RetrainConfig, command, short, short_mode,
                   base: dict, compare_with_claim: bool, claims: Claims, notes: list[str],
                   log_dir: Path | None) -> RetrainResult:
    mounts = _data_mounts(config, scratch)
    env = _run_env(config, scratch, short, short_mode, mounts)
    outcome = run_in_sandbox(
        _argv(command),
        scratch=scratch,
        limits=config.limits(short),
        env=env,
        mounts=mounts,
        log_head_bytes=defaults.RETRAIN_LOG_HEAD_BYTES,
        log_tail_bytes=defaults.RETRAIN_LOG_TAIL_BYTES,
    )
    if isinstance(outcome, RunRefused):
        return RetrainResult("skipped", f"not run: {outcome.reason}", **base,
                             isolation=outcome.isolation.to_dict(),
                             warnings=tuple(notes + list(outcome.isolation.warnings)))
    run_facts = {
        "duration_s": round(outcome.duration_s, 2),
        "peak_memory_mb": outcome.peak_memory_mb,
        "log_tail": outcome.log.tail(defaults.RETRAIN_LOG_TAIL_CHARS),
        "log_path": _keep_log(outcome, log_dir, submission_dir, short),
        "isolation": outcome.isolation.to_dict(),
        "warnings": tuple(notes + list(outcome.isolation.warnings)),
    }
    if isinstance(outcome, RunTimeout):
        reason = (f"the run did not finish within {outcome.timeout_s:g} s; it was stopped and "
                  "every process it started was killed")
        return RetrainResult("timed_out", reason, **base, **run_facts)
    if isinstance(outcome, RunFailed):
        return RetrainResult("failed", outcome.reason, **base, **run_facts)

    reached, problem = _read_metric(config, scratch, outcome)
    if reached is None:
        return RetrainResult("failed", problem, **base, **run_facts)
    params, params_note = _count_params(config, scratch, env, short, mounts)
    if params_note and params is None and config.checkpoint:
        return RetrainResult("failed", params_note, **base, reached=reached, **run_facts)
    if params_note:
        run_facts["warnings"] = run_facts["warnings"] + (params_note,)
    status, gap, reason = judge(
        metric=config.metric,
        reached=reached,
        claimed=base.get("claimed") if compare_with_claim else None,
        target=base["target"],
        tolerance=base["tolerance"],
        direction=config.direction,
        unit=config.unit,
        params=params,
        claimed_params=base.get("claimed_params"),
        max_params=base["max_params"],
        short=short,
    )
    return RetrainResult(status, reason, **base, reached=reached, gap=gap, params=params, **run_facts)


def _command_for(submission_dir: Path, config: RetrainConfig, short: bool):
    """The command to run and notes: the submission's retrain.toml may replace the task's
    command (only the command: limits, metric and targets stay the mentor's)."""
    notes: list[str] = []
    command = config.command
    if short and config.short and config.short.command:
        command = config.short.command
    raw = read_sandbox_file(submission_dir / defaults.RETRAIN_SUBMISSION_FILE)
    if raw is not None and config.submission_command:
        name = defaults.RETRAIN_SUBMISSION_FILE
        try:
            table = tomllib.loads(raw.decode("utf-8-sig")).get("retrain", {})
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            return None, [f"the submission's {name} is not valid TOML ({exc}); not run"]
        ignored = sorted(set(table) - {"command", "short_command"})
        if ignored:
            notes.append(f"{name} may only set command and short_command; ignored: {', '.join(ignored)}")
        key = "short_command" if short and "short_command" in table else "command"
        if key in table:
            try:
                command = _command(table[key], lambda p: RetrainConfigError(f"{name} [retrain] {key}: {p}"))
            except RetrainConfigError as exc:
                return None, [f"{exc}; not run"]
            notes.append(f"command from the submission's {name}: {table[key]!r}")
    if command is None:
        why = (f"no training command: the task's [retrain] has no command and the submission has "
               f"no {defaults.RETRAIN_SUBMISSION_FILE}")
        return None, [why]
    return command, notes


_SHELL_SYNTAX = re.compile(r"[|&;<>()$`*?~\n]")


def _argv(command: str | tuple[str, ...]) -> list[str]:
    """`python` means the checker's own interpreter (torch and numpy are there). A command
    with shell syntax (pipes, &&, globs, $VARS) runs under /bin/sh, whose PATH starts with the
    interpreter's folder, so its `python` is the same one."""
    if isinstance(command, str):
        if _SHELL_SYNTAX.search(command):
            return ["/bin/sh", "-c", command]
        argv = shlex.split(command)
    else:
        argv = list(command)
    if re.fullmatch(r"python(3(\.\d+)?)?", argv[0]):
        argv[0] = sys.executable
    return argv


def _data_mounts(config: RetrainConfig, scratch: Scratch) -> list[Mount]:
    if config.data is None:
        return []
    if config.data_mount:
        return [Mount(config.data, str(scratch.work / config.data_mount))]
    return [Mount(config.data)]


def _run_env(config: RetrainConfig, scratch: Scratch, short: bool, short_mode: ShortMode | None,
             mounts: list[Mount]) -> dict[str, str]:
    """The run's whole environment: nothing of the mentor's (HOME, proxies, tokens) leaks in."""
    threads = str(config.cpus)
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        # On disk in the scratch folder, not the private tmpfs /tmp: temporary files count in
        # the disk budget (disk_mb) and are removed with the scratch copy.
        "TMPDIR": str(scratch.tmp or "/tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",  # the log is complete up to a timeout
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "TORCH_HOME": "/tmp/torch",
        # Fail at once instead of waiting for network timeouts.
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "NUMEXPR_NUM_THREADS": threads,
        "NOSHORTCUT_METRICS": str(scratch.out / "metrics.json"),
        "NOSHORTCUT_OUTPUT": str(scratch.out),
        "NOSHORTCUT_CHECKPOINT": str(scratch.out / "model.pt"),
        "NOSHORTCUT_SHORT": "1" if short else "0",
    }
    if not config.gpu:
        env["CUDA_VISIBLE_DEVICES"] = ""
    elif os.environ.get("CUDA_VISIBLE_DEVICES"):
        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    if mounts:
        env["NOSHORTCUT_DATA"] = mounts[0].inside
    env.update(config.env)
    if short_mode:
        env.update(short_mode.env)
    return env


def _keep_log(outcome: RunOutcome, log_dir: Path | None, submission_dir: Path, short: bool) -> str | None:
    if log_dir is None or isinstance(outcome, RunRefused):
        return None
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / f"{submission_dir.resolve().name}{'-short' if short else ''}.log"
    path.write_text(outcome.log.text, encoding="utf-8")
    return str(path)


def _read_metric(config: RetrainConfig, scratch: Scratch, outcome: RunOk) -> tuple[float | None, str]:
    """The metric from NOSHORTCUT_METRICS, else from the log with `metric_regex`."""
    problems = []
    raw = read_sandbox_file(scratch.out / "metrics.json")
    if raw is not None:
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            data = None
            problems.append("its NOSHORTCUT_METRICS file is not valid JSON")
        if isinstance(data, dict) and config.metric in data:
            value = data[config.metric]
            if isinstance(value, bool):
                figure = None
            elif isinstance(value, (int, float)):
                figure = normalise(float(value), False, config.unit)
            else:
                figure = parse_figure(str(value), config.unit)
            if figure is not None and math.isfinite(figure):
                return figure, ""
            problems.append(f"its metrics file has {config.metric} = {value!r}, which is not a finite number")
        elif isinstance(data, dict):
            problems.append(f"its metrics file has no {config.metric!r} (keys: {', '.join(map(str, data)) or 'none'})")
    if config.metric_regex:
        matches = list(re.finditer(config.metric_regex, outcome.log.text))
        if matches:
            text = matches[-1].group(1)
            after = outcome.log.text[matches[-1].end(1): matches[-1].end(1) + 2]
            figure = parse_figure(text + ("%" if after.lstrip().startswith("%") else ""), config.unit)
            if figure is not None and math.isfinite(figure):
                return figure, ""
            problems.append(f"metric_regex matched {text!r}, which is not a number")
        else:
            problems.append("nothing in its log matched metric_regex")
    if raw is None:
        problems.insert(0, f"it wrote no metrics file at NOSHORTCUT_METRICS (expected {{\"{config.metric}\": value}})")
    last = last_error_line(outcome.log.text)
    return None, "the run finished but reported no " + config.metric + ": " + "; ".join(problems) + (
        f" (last output: {last})" if last else "")


# ----------------------------------------------------------------------------------------
# Counting parameters (inside the sandbox: a pickled model runs learner code when loaded)
# ----------------------------------------------------------------------------------------

# Started by path in the sandbox (`python checkpoint_count.py PATTERN`); stdlib and torch only.
_COUNTER = Path(checkpoint_count.__file__).resolve()


def _count_params(config: RetrainConfig, scratch: Scratch, env: dict[str, str], short: bool,
                  mounts: list[Mount]) -> tuple[int | None, str | None]:
    """(count, None), or (None, why not). Runs in a fresh sandbox that sees the scratch copy
    (the training run's leftovers included: it must, to load the learner's classes) and writes
    its answer to a folder the training run never saw."""
    if config.checkpoint:
        pattern = str(scratch.work / config.checkpoint)
        described = config.checkpoint
    else:
        default = scratch.out / "model.pt"
        if not os.path.lexists(default):
            return None, ("the run wrote no checkpoint at NOSHORTCUT_CHECKPOINT and the task names none, "
                          "so its parameters were not counted")
        pattern, described = str(default), "NOSHORTCUT_CHECKPOINT"
    count_out = scratch.fresh_dir("count")
    count_env = dict(env, NOSHORTCUT_METRICS=str(count_out / "params.json"))
    extra = list(mounts) + [Mount(scratch.out)]
    if config.params_hook:
        hook_dir = scratch.fresh_dir("hook")
        hook = hook_dir / config.params_hook.name
        hook.write_bytes(config.params_hook.read_bytes())
        extra.append(Mount(hook_dir))
        argv = [sys.executable, str(hook), pattern]
    else:  # the checker's own counter, copied in: the sandbox's root has no checker package
        counter_dir = scratch.fresh_dir("counter")
        counter = counter_dir / _COUNTER.name
        counter.write_bytes(_COUNTER.read_bytes())
        extra.append(Mount(counter_dir))
        argv = [sys.executable, str(counter), pattern]
    limits = config.limits(short)
    limits = SandboxLimits(**{**asdict(limits), "timeout_s": min(defaults.RETRAIN_COUNT_TIMEOUT_S, limits.timeout_s * 2)})
    outcome = run_in_sandbox(argv, scratch=scratch, limits=limits, env=count_env, mounts=extra, out_dir=count_out)
    if not isinstance(outcome, RunOk):
        why = outcome.reason if isinstance(outcome, (RunFailed, RunRefused)) else "it timed out"
        return None, f"the parameters of {described} could not be counted: {why}"
    raw = read_sandbox_file(count_out / "params.json")
    try:
        answer = json.loads(raw) if raw else {}
    except ValueError:
        answer = {}
    if "missing" in answer:
        return None, f"the run did not write the checkpoint the task names ({described})"
    if "error" in answer:
        return None, f"the parameters of {described} could not be counted: {answer['error']}"
    count = parse_param_count(answer.get("params")) if isinstance(answer.get("params"), (int, float)) else None
    if count is None:
        return None, f"counting the parameters of {described} gave no number"
    return count, None


# ----------------------------------------------------------------------------------------
# Judging (pure)
# ----------------------------------------------------------------------------------------


def judge(
    *,
    metric: str,
    reached: float,
    claimed: float | None,
    target: float | None,
    tolerance: float,
    direction: str = "max",
    unit: str = "raw",
    params: int | None = None,
    claimed_params: int | None = None,
    max_params: int | None = None,
    params_tolerance: float = defaults.RETRAIN_PARAMS_TOLERANCE,
    short: bool = False,
) -> tuple[str, float | None, str]:
    """(status, gap, reason) for a run that reported `reached`.

    The reference is the claim, else the target. Reproduced when the run is no worse than the
    reference by more than `tolerance` (a run better than claimed is not a shortcut). Over
    budget wins over everything else: a model beyond the task's limit breaks the rule whatever
    it reaches. A counted parameter number far from the claimed one is not reproduced.
    """
    sign = 1.0 if direction == "max" else -1.0
    reference = claimed if claimed is not None else target
    gap = None if reference is None else round(reached - reference, 10)
    run = "the short re-run" if short else "the re-run"
    parts: list[str] = []
    metric_ok = True
    if reference is not None:
        shortfall = sign * (reference - reached)
        what = "the learner's claim" if claimed is not None else "the task's target"
        if shortfall > tolerance + 1e-12:
            metric_ok = False
            parts.append(f"{run} reached {metric} {_fmt(reached, unit)}, {_fmt_gap(shortfall, unit)} "
                         f"{'below' if sign > 0 else 'above'} {what} of {_fmt(reference, unit)} "
                         f"(tolerance {_fmt_gap(tolerance, unit)})")
        else:
            parts.append(f"{run} reached {metric} {_fmt(reached, unit)}; {what} is {_fmt(reference, unit)} "
                         f"(tolerance {_fmt_gap(tolerance, unit)})")
        if claimed is not None and target is not None and sign * (target - reached) > 1e-12:
            parts.append(f"below the task's target of {_fmt(target, unit)}")
    params_ok = True
    if params is not None and claimed_params and abs(params - claimed_params) > params_tolerance * claimed_params:
        params_ok = False
        parts.append(f"the learner claims {_fmt_count(claimed_params)} parameters, the trained model "
                     f"has {_fmt_count(params)}")
    over = params is not None and max_params is not None and params > max_params
    if over:
        parts.insert(0, f"the trained model has {_fmt_count(params)} parameters, over the task's limit "
                        f"of {_fmt_count(max_params)}")
        status = "over_budget"
    elif metric_ok and params_ok:
        status = "reproduced"
        if params is not None and not claimed_params:
            parts.append(f"{_fmt_count(params)} parameters")
    else:
        status = "not_reproduced"
    return status, gap, "; ".join(parts)


def _fmt(value: float, unit: str) -> str:
    if unit == "fraction":
        return f"{value * 100:.1f}%"
    if unit == "percent":
        return f"{value:.1f}%"
    return f"{value:.4g}"


def _fmt_gap(value: float, unit: str) -> str:
    if unit == "fraction":
        return f"{value * 100:.1f} points"
    if unit == "percent":
        return f"{value:.1f} points"
    return f"{value:.4g}"


def _fmt_count(n: int) -> str:
    return f"{n:,}" if n < 1_000_000 else f"{n / 1e6:.2f}M ({n:,})"


# ----------------------------------------------------------------------------------------
# Many submissions
# ----------------------------------------------------------------------------------------


def retrain_many(
    submissions: Mapping[str, Path],
    config: RetrainConfig,
    *,
    max_params: int | None,
    short: bool = False,
    parallel: int = defaults.RETRAIN_PARALLEL,
    log_dir: Path | None = None,
) -> dict[str, RetrainResult]:
    """Re-run every submission, at most `parallel` at once; results in the input order.

    Threads are enough: each run is a child process and the thread only waits for it. One
    submission's unexpected error becomes its `failed` result, never the round's end.
    """
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1, got {parallel}")

    def one(item: tuple[str, Path]) -> RetrainResult:
        learner, path = item
        try:
            return retrain_submission(Path(path), config, max_params=max_params, short=short,
                                      log_dir=None if log_dir is None else Path(log_dir) / learner)
        except Exception as exc:  # noqa: BLE001 - reported as this learner's outcome
            return RetrainResult("failed", f"the checker could not re-run it: {type(exc).__name__}: {exc}",
                                 submission=str(path), metric=config.metric, short=short,
                                 max_params=max_params)

    items = list(submissions.items())
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="retrain") as pool:
        results = list(pool.map(one, items))
    return {learner: result for (learner, _), result in zip(items, results)}
