"""`checker retrain` as a command: thin options, readable output, errors naming file and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker.cli.retrain import retrain_command

TASK = """
[rules]
max_params = 1000

[retrain]
command = "python train.py"
metric = "accuracy"
unit = "fraction"
tolerance = 0.02
timeout_s = 20
memory_mb = 512
cpus = 1
"""
TRAIN = 'import json, os\njson.dump({"accuracy": 0.9}, open(os.environ["NOSHORTCUT_METRICS"], "w"))\n'


def _setup(tmp_path: Path, task: str = TASK, claim: str = '{"accuracy": "90%"}') -> tuple[Path, Path]:
    task_path = tmp_path / "task.toml"
    task_path.write_text(task)
    learner = tmp_path / "learner-07"
    learner.mkdir()
    (learner / "train.py").write_text(TRAIN)
    (learner / "claims.json").write_text(claim)
    return learner, task_path


def _skip_without_isolation(result) -> None:
    if "not run: this platform cannot" in result.output:
        pytest.skip("this platform cannot isolate a run")


def test_reproduced_run_prints_a_summary_and_exits_zero(tmp_path):
    learner, task = _setup(tmp_path)

    result = CliRunner().invoke(retrain_command, [str(learner), "--task", str(task)])
    _skip_without_isolation(result)

    assert result.exit_code == 0, result.output
    assert result.output.startswith("REPRODUCED: the re-run reached accuracy 90.0%")
    assert 'claims.json: "accuracy": "90%"' in result.output


def test_json_output_is_the_report_entry_and_exit_status_is_one_when_not_reproduced(tmp_path):
    learner, task = _setup(tmp_path, claim='{"accuracy": "99%"}')

    result = CliRunner().invoke(retrain_command, [str(learner), "--task", str(task), "--json"])
    _skip_without_isolation(result)

    assert result.exit_code == 1
    entry = json.loads(result.output)
    assert entry["status"] == "not_reproduced"
    assert entry["claimed"] == pytest.approx(0.99) and entry["reached"] == pytest.approx(0.9)
    assert entry["max_params"] == 1000


def test_run_that_writes_past_disk_mb_is_failed_with_the_budget_named(tmp_path):
    learner, task = _setup(tmp_path, task=TASK + "disk_mb = 20\n")
    (learner / "train.py").write_text(
        "import time\nfor i in range(19):\n    open(f'dump-{i}.bin', 'wb').write(b'x' * 5 * 2**20)\n"
        "    time.sleep(0.1)\n" + TRAIN)

    result = CliRunner().invoke(retrain_command, [str(learner), "--task", str(task)])
    _skip_without_isolation(result)

    assert result.exit_code == 1
    assert result.output.startswith("FAILED: the run wrote more than 20 MB to disk (its disk budget, disk_mb)")


def test_bad_retrain_key_is_an_error_naming_file_and_key(tmp_path):
    learner, task = _setup(tmp_path, task=TASK.replace("timeout_s = 20", "timeout_s = \"soon\""))

    result = CliRunner().invoke(retrain_command, [str(learner), "--task", str(task)])

    assert result.exit_code == 2  # bad input, not "not reproduced" (1)
    assert "task.toml: [retrain].timeout_s: expected a number, got 'soon'" in result.output


def test_task_without_a_retrain_table_is_an_error(tmp_path):
    learner, task = _setup(tmp_path, task="[rules]\nmax_params = 10\n")

    result = CliRunner().invoke(retrain_command, [str(learner), "--task", str(task)])

    assert result.exit_code == 2
    assert "no [retrain] table" in result.output


def test_help_has_an_example():
    result = CliRunner().invoke(retrain_command, ["--help"])

    assert "checker retrain examples/retrain-mlp/submission" in result.output
