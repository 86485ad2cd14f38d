"""Reproduce and retrain: re-run a learner's training in the sandbox and compare with the claim.

A learner writes "test accuracy 66.3% with 18.2M parameters". The checker copies the submission
into a scratch folder, runs the task's training command there under `checker.sandbox.run` (no
network, no view of anything else, CPU/memory/time limits), reads the metric the run reports,
counts the parameters of the checkpoint it wrote (in a second sandboxed run: loading a pickled
model executes learner code), and compares both with the claim and with the task's limits.

Outcomes are values with reasons a mentor can read out (`RetrainResult.status`):
reproduced | not_reproduced | over_budget | failed | timed_out | skipped.

The `[retrain]` table is `checker.retrain.config.RetrainConfig`; the comparison itself, pure, is
`checker.retrain.judge.judge`; the parameter count runs `checker.sandbox.checkpoint_count` in a
second sandbox.
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
from dataclasses import asdict, dataclass
from pathlib import Path

import tomllib

from checker import defaults
from checker.retrain.claims import (
    Claims,
    normalise,
    parse_figure,
    parse_param_count,
    read_claims,
)
from checker.retrain.config import (
    RetrainConfig,
    RetrainConfigError,
    ShortMode,
    check_command,
)
from checker.retrain.judge import judge
from checker.task.schema import Checker
from checker.sandbox import checkpoint_count
from checker.sandbox.limits import (
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
            checker = Checker(lambda where, reason: RetrainConfigError(name, where, reason))
            try:
                command = check_command(checker, table[key], f"[retrain].{key}")
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
