"""`checker retrain SUBMISSION --task task.toml`: re-run one learner's training and compare.

Thin: options -> task file -> RetrainConfig -> `retrain_submission` -> output.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import tomllib
from typing import TYPE_CHECKING

from checker.cli.errors import CheckerCommand, CheckerInputError

if TYPE_CHECKING:
    from checker.retrain.runs import RetrainResult

# The exit status lets a script tell a reproduced claim from anything else (2: the run could not
# start: a bad task file or submission).
EXIT_REPRODUCED, EXIT_NOT_REPRODUCED = 0, 1


@click.command("retrain", cls=CheckerCommand)
@click.argument("submission", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--task", "task_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="task.toml with a [retrain] table (and [rules] max_params for the budget).")
@click.option("--short", is_flag=True,
              help="Quick check with the task's [retrain.short] settings (fewer epochs, a data subset).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (the report.json entry).")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the run's log (its first and last bytes) in this folder.")
def retrain_command(submission: Path, task_path: Path, short: bool, as_json: bool, log_dir: Path | None) -> None:
    """Re-run SUBMISSION's training in a sandbox and compare it with what the learner claims.

    The run gets a scratch copy of the submission, no network, and the task's time and memory
    limits; the metric it reports and the parameters of the checkpoint it writes are compared
    with the claim (claims.json, or sentences in the README and notes) and the task's limits.
    Exit status: 0 when reproduced, 1 for any other outcome, 2 when the task file is unusable.

    \b
    Example:
        checker retrain examples/retrain-mlp/submission \\
            --task examples/retrain-mlp/task.toml --short
    """
    # imported here, not at module level: every `checker` command loads this module
    from checker.retrain.config import RetrainConfig, RetrainConfigError
    from checker.retrain.runs import retrain_submission

    table, max_params = _read_task(task_path)
    try:
        config = RetrainConfig.from_table(table, task_path)
    except RetrainConfigError as exc:
        raise CheckerInputError(str(exc)) from None
    result = retrain_submission(submission, config, max_params=max_params, short=short, log_dir=log_dir)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(_summary(result))
    raise SystemExit(EXIT_REPRODUCED if result.status == "reproduced" else EXIT_NOT_REPRODUCED)


def _read_task(task_path: Path) -> tuple[dict, int | None]:
    """The raw [retrain] table and [rules] max_params, through checker.task.taskfile when present."""
    try:
        from checker.task.taskfile import TaskFileError, load_task
    except ImportError:  # the task-file module is not there yet: read the two tables ourselves
        try:
            data = tomllib.loads(task_path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CheckerInputError(f"{task_path}: cannot read the task file: {exc}") from None
        table, max_params = data.get("retrain"), data.get("rules", {}).get("max_params")
    else:
        try:
            task = load_task(task_path)
        except TaskFileError as exc:
            raise CheckerInputError(str(exc)) from None
        table, max_params = task.retrain_table, task.rules.max_params
    if not table:
        raise CheckerInputError(f"{task_path}: no [retrain] table; see docs/retrain.md for its keys")
    return table, max_params


def _summary(result: RetrainResult) -> str:
    lines = [f"{result.status.upper().replace('_', ' ')}: {result.reason}"]
    if result.claim_source:
        lines.append(f"  claim   {result.claim_source}")
    if result.params is not None:
        budget = f" (limit {result.max_params:,})" if result.max_params else ""
        lines.append(f"  params  {result.params:,}{budget}")
    if result.duration_s is not None:
        memory = f", peak memory {result.peak_memory_mb:.0f} MB" if result.peak_memory_mb else ""
        lines.append(f"  run     {result.command} in {result.duration_s:.1f} s{memory}")
    for warning in result.warnings:
        lines.append(f"  warning {warning}")
    if result.log_path:
        lines.append(f"  log     {result.log_path}")
    if result.status in ("failed", "timed_out") and result.log_tail:
        lines.append("  last output:")
        lines += ["    " + line for line in result.log_tail.splitlines()[-15:]]
    return "\n".join(lines)
