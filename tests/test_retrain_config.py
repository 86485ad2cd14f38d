"""`[retrain]` validation: every mistake names its key and says what is expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker import defaults
from checker.retrain.config import RetrainConfig, RetrainConfigError

EXAMPLE_TASK = Path(__file__).resolve().parent.parent / "examples" / "retrain-mlp" / "task.toml"


def _config(tmp_path: Path, **table) -> RetrainConfig:
    table.setdefault("metric", "accuracy")
    return RetrainConfig.from_table(table, tmp_path / "task.toml")


def test_minimal_table_takes_the_defaults(tmp_path):
    config = _config(tmp_path, command="python train.py")

    assert config.tolerance == defaults.RETRAIN_TOLERANCE
    assert config.timeout_s == defaults.RETRAIN_TIMEOUT_S
    assert config.network == "refuse" and config.direction == "max" and config.unit == "raw"
    assert config.limits().memory_mb == defaults.RETRAIN_MEMORY_MB
    assert config.limits().disk_mb == defaults.RETRAIN_DISK_MB


def test_disk_budget_reaches_the_sandbox_limits(tmp_path):
    config = _config(tmp_path, command="python train.py", disk_mb=20)

    assert config.disk_mb == 20 and config.limits().disk_mb == 20 and config.limits(short=True).disk_mb == 20


def test_misspelt_key_is_an_error_naming_the_file_the_table_and_the_key(tmp_path):
    with pytest.raises(RetrainConfigError,
                       match=r"task\.toml: \[retrain\]\.timout_s: unknown key \(did you mean 'timeout_s'\?\); known keys: "):
        _config(tmp_path, command="python train.py", timout_s=60)


def test_retrain_errors_are_task_file_errors_with_the_key(tmp_path):
    # The same validator as [rules] (checker.task.schema): the same error, the same fields.
    from checker.task.taskfile import TaskFileError

    with pytest.raises(TaskFileError) as err:
        _config(tmp_path, command="python train.py", short={"timeout": 30})
    assert isinstance(err.value, RetrainConfigError)
    assert (err.value.source, err.value.key) == (str(tmp_path / "task.toml"), "[retrain.short].timeout")
    assert "did you mean 'timeout_s'" in err.value.reason


def test_missing_metric_is_an_error_with_an_example(tmp_path):
    with pytest.raises(RetrainConfigError, match='metric: missing.*metric = "accuracy"'):
        RetrainConfig.from_table({"command": "python train.py"}, tmp_path / "task.toml")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("timeout_s", "ten", "timeout_s: expected a number"),
        ("timeout_s", -5, "timeout_s: expected a positive number"),
        ("tolerance", True, "tolerance: expected a number"),
        ("memory_mb", 1.5, "memory_mb: expected a whole number"),
        ("disk_mb", 0, "disk_mb: expected a positive number"),
        ("disk_mb", "2GB", "disk_mb: expected a number"),
        ("network", "allow", "network: expected one of 'refuse', 'warn'"),
        ("unit", "ratio", "unit: expected one of"),
        ("metric_regex", "acc: [0-9.]+", "metric_regex: .* needs a group"),
        ("metric_regex", "acc: ([0-9.]+", "metric_regex: .* not a valid regular expression"),
        ("command", "", "command: is empty"),
        ("command", 'python "train.py', "command: cannot be split"),
        ("checkpoint", "../other/model.pt", "checkpoint: .* must stay inside the submission"),
        ("env", {"EPOCHS": [1]}, "env: EPOCHS"),
        ("data", "no-such-folder", "data: .* does not exist"),
    ],
)
def test_wrong_values_are_errors_naming_the_key(tmp_path, key, value, message):
    with pytest.raises(RetrainConfigError, match=message):
        _config(tmp_path, **{"command": "python train.py", key: value})


def test_paths_are_resolved_against_the_task_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "count.py").write_text("")

    config = _config(tmp_path, command="python train.py", data="data", params_hook="count.py")

    assert config.data == (tmp_path / "data").resolve()
    assert config.params_hook == (tmp_path / "count.py").resolve()


def test_short_mode_table_is_validated_too(tmp_path):
    config = _config(tmp_path, command="python train.py", timeout_s=300,
                     short={"env": {"EPOCHS": 1}, "tolerance": 0.2, "timeout_s": 30})

    assert dict(config.short.env) == {"EPOCHS": "1"}
    assert config.limits(short=True).timeout_s == 30 and config.limits().timeout_s == 300
    with pytest.raises(RetrainConfigError, match=r"\[retrain\.short\]\.epochs: unknown key; known keys: command, env, "):
        _config(tmp_path, command="python train.py", short={"epochs": 1})


def test_example_task_is_valid():
    import tomllib

    table = tomllib.loads(EXAMPLE_TASK.read_text())["retrain"]
    config = RetrainConfig.from_table(table, EXAMPLE_TASK)

    assert config.metric == "accuracy" and config.unit == "fraction"
    assert config.data.is_dir() and config.checkpoint == "model.pt"
