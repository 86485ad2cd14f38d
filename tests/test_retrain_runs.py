"""retrain_submission end to end on tiny hand-made submissions (plain Python and numpy, so each
run takes a fraction of a second): how the metric is read, how each outcome is reported."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from checker.retrain.config import RetrainConfig
from checker.retrain.runs import retrain_many, retrain_submission
from checker.sandbox.limits import RunRefused, SandboxLimits
from checker.sandbox.run import run_in_sandbox
from checker.sandbox.scratch import prepare_scratch

WRITE_METRIC = """
import json, os
json.dump({{"accuracy": {value}}}, open(os.environ["NOSHORTCUT_METRICS"], "w"))
"""


def _config(tmp_path: Path, **table) -> RetrainConfig:
    table = {"command": "python train.py", "metric": "accuracy", "tolerance": 0.02, "timeout_s": 20,
             "memory_mb": 512, "cpus": 1, **table}
    return RetrainConfig.from_table(table, tmp_path / "task.toml")


def _submission(tmp_path: Path, name: str = "learner-01", **files: str) -> Path:
    root = tmp_path / name
    root.mkdir()
    for filename, content in files.items():
        (root / filename.replace("__", ".")).write_text(content)
    return root


@pytest.fixture(scope="module", autouse=True)
def _needs_namespaces(tmp_path_factory):
    probe = tmp_path_factory.mktemp("probe")
    (probe / "p").mkdir()
    limits = SandboxLimits(timeout_s=10, memory_mb=256, max_procs=16, max_file_mb=1, tmp_mb=8, disk_mb=64, cpus=1)
    with prepare_scratch(probe / "p", max_bytes=1000, parent=probe) as scratch:
        outcome = run_in_sandbox(["/bin/true"], scratch=scratch, limits=limits, env={})
    if isinstance(outcome, RunRefused):
        pytest.skip(f"this platform cannot isolate a run: {outcome.reason}")


def test_honest_claim_in_the_readme_is_reproduced_and_the_log_kept(tmp_path):
    learner = _submission(tmp_path, train__py="print('epoch 1')\n" + WRITE_METRIC.format(value=0.81),
                          README__md="Final test accuracy: 82%\n")

    result = retrain_submission(learner, _config(tmp_path, unit="fraction"), max_params=None,
                                log_dir=tmp_path / "logs")

    assert result.status == "reproduced", result.reason
    assert result.claimed == pytest.approx(0.82) and result.reached == pytest.approx(0.81)
    assert result.claim_source.startswith("README.md:1")
    assert "epoch 1" in Path(result.log_path).read_text()
    assert result.isolation["network"] is True


def test_percent_claim_under_a_raw_unit_gets_a_hint(tmp_path):
    learner = _submission(tmp_path, train__py=WRITE_METRIC.format(value=0.81), README__md="test accuracy 82%\n")

    result = retrain_submission(learner, _config(tmp_path), max_params=None)

    assert result.status == "not_reproduced"
    assert any('unit = "fraction"' in w for w in result.warnings)


def test_metric_can_be_read_from_the_log_with_a_pattern(tmp_path):
    learner = _submission(tmp_path, train__py="print('Test Acc: 64.0%')\nprint('Test Acc: 66.5%')\n",
                          claims__json='{"accuracy": "66.3%"}')
    config = _config(tmp_path, unit="fraction", metric_regex=r"Test Acc: ([0-9.]+)")

    result = retrain_submission(learner, config, max_params=None)

    assert result.status == "reproduced", result.reason
    assert result.reached == pytest.approx(0.665)  # the last match, with its % sign


def test_run_that_reports_nothing_has_failed_and_says_what_was_expected(tmp_path):
    learner = _submission(tmp_path, train__py="print('done training')\n", claims__json='{"accuracy": 0.8}')

    result = retrain_submission(learner, _config(tmp_path), max_params=None)

    assert result.status == "failed"
    assert "reported no accuracy" in result.reason and "NOSHORTCUT_METRICS" in result.reason


def test_crash_is_failed_with_the_error_and_the_log_tail(tmp_path):
    learner = _submission(tmp_path, train__py="print('loading')\nraise ValueError('shapes do not match')\n",
                          claims__json='{"accuracy": 0.8}')

    result = retrain_submission(learner, _config(tmp_path), max_params=None)

    assert result.status == "failed"
    assert "ValueError: shapes do not match" in result.reason
    assert "loading" in result.log_tail


def test_run_past_the_timeout_is_timed_out(tmp_path):
    learner = _submission(tmp_path, train__py="import time\ntime.sleep(60)\n", claims__json='{"accuracy": 0.8}')

    result = retrain_submission(learner, _config(tmp_path, timeout_s=1), max_params=None)

    assert result.status == "timed_out"
    assert "within 1 s" in result.reason and result.duration_s < 5


def test_nothing_to_compare_with_is_skipped_without_running(tmp_path):
    learner = _submission(tmp_path, train__py="open('/tmp/ran', 'w')\n")

    result = retrain_submission(learner, _config(tmp_path), max_params=None)

    assert result.status == "skipped"
    assert "no claimed accuracy" in result.reason and result.duration_s is None


def test_submission_may_replace_only_the_command(tmp_path):
    learner = _submission(tmp_path, claims__json='{"accuracy": 0.7}',
                          retrain__toml='[retrain]\ncommand = "python src_train.py"\ntolerance = 0.5\n',
                          src_train__py=WRITE_METRIC.format(value=0.6))

    result = retrain_submission(learner, _config(tmp_path), max_params=None)

    assert result.command == "python src_train.py"
    assert result.status == "not_reproduced"  # the task's tolerance, not the learner's 0.5
    assert any("ignored: tolerance" in w for w in result.warnings)


def test_task_data_is_mounted_read_only(tmp_path):
    data = tmp_path / "task-data"
    data.mkdir()
    (data / "labels.txt").write_text("0.75")
    program = """
import json, os
value = float(open("data/labels.txt").read())
assert open(os.path.join(os.environ["NOSHORTCUT_DATA"], "labels.txt")).read() == "0.75"
try:
    open("data/labels.txt", "w").write("1.0")
except OSError as exc:
    print("read-only:", exc)
json.dump({"accuracy": value}, open(os.environ["NOSHORTCUT_METRICS"], "w"))
"""
    learner = _submission(tmp_path, train__py=program, claims__json='{"accuracy": 0.75}')
    (tmp_path / "task.toml").write_text("")

    result = retrain_submission(learner, _config(tmp_path, data="task-data", data_mount="data"), max_params=None)

    assert result.status == "reproduced", result.reason + result.log_tail
    assert "Read-only file system" in result.log_tail
    assert (data / "labels.txt").read_text() == "0.75"


def test_checkpoint_over_the_budget_is_over_budget(tmp_path):
    program = """
import json, os
import numpy as np
np.savez("model.npz", w1=np.zeros((100, 64)), b1=np.zeros(64), w2=np.zeros((64, 10)))
json.dump({"accuracy": 0.9}, open(os.environ["NOSHORTCUT_METRICS"], "w"))
"""
    learner = _submission(tmp_path, train__py=program, claims__json='{"accuracy": 0.9, "params": 5000}')

    result = retrain_submission(learner, _config(tmp_path, checkpoint="model.npz"), max_params=5000)

    assert result.status == "over_budget", result.reason
    assert result.params == 100 * 64 + 64 + 64 * 10
    assert "over the task's limit of 5,000" in result.reason


def test_missing_checkpoint_the_task_names_is_a_failure(tmp_path):
    learner = _submission(tmp_path, train__py=WRITE_METRIC.format(value=0.9), claims__json='{"accuracy": 0.9}')

    result = retrain_submission(learner, _config(tmp_path, checkpoint="model.pt"), max_params=5000)

    assert result.status == "failed"
    assert "did not write the checkpoint the task names (model.pt)" in result.reason


def test_refused_isolation_is_skipped_with_the_reason(tmp_path, monkeypatch):
    def limits_without_namespaces(self, short=False):
        return SandboxLimits(timeout_s=5, memory_mb=256, max_procs=16, max_file_mb=1, tmp_mb=8, disk_mb=64, cpus=1,
                             network="refuse", namespaces=False)

    monkeypatch.setattr(RetrainConfig, "limits", limits_without_namespaces)
    learner = _submission(tmp_path, train__py=WRITE_METRIC.format(value=0.9), claims__json='{"accuracy": 0.9}')

    result = retrain_submission(learner, _config(tmp_path), max_params=None)

    assert result.status == "skipped"
    assert result.reason.startswith("not run: this platform cannot give the run its own network namespace")


def test_many_submissions_keep_their_order_and_one_failure_stays_its_own(tmp_path):
    submissions = {
        "learner-b": _submission(tmp_path, "b", train__py=WRITE_METRIC.format(value=0.9), claims__json='{"accuracy": 0.9}'),
        "learner-a": _submission(tmp_path, "a", train__py="raise SystemExit(3)\n", claims__json='{"accuracy": 0.9}'),
        "learner-c": _submission(tmp_path, "c", train__py=WRITE_METRIC.format(value=0.5), claims__json='{"accuracy": 0.9}'),
        "learner-d": tmp_path / "missing",
    }

    results = retrain_many(submissions, _config(tmp_path), max_params=None, parallel=2)

    assert list(results) == ["learner-b", "learner-a", "learner-c", "learner-d"]
    assert [r.status for r in results.values()] == ["reproduced", "failed", "not_reproduced", "skipped"]
    assert json.loads(json.dumps(results["learner-c"].to_dict()))["gap"] == pytest.approx(-0.4)


def test_task_data_outside_the_submission_is_visible_at_its_own_path(tmp_path):
    data = tmp_path / "shared-data"
    data.mkdir()
    (data / "score.txt").write_text("0.7")
    program = ('import json, os\nvalue = float(open(os.path.join(os.environ["NOSHORTCUT_DATA"], "score.txt")).read())\n'
               'json.dump({"accuracy": value}, open(os.environ["NOSHORTCUT_METRICS"], "w"))\n')
    learner = _submission(tmp_path, train__py=program, claims__json='{"accuracy": 0.7}')

    result = retrain_submission(learner, _config(tmp_path, data="shared-data"), max_params=None)

    assert result.status == "reproduced", result.reason + result.log_tail


def test_checkpoint_at_noshortcut_checkpoint_is_counted_without_the_task_naming_it(tmp_path):
    program = """
import json, os
import numpy as np
np.save(os.environ["NOSHORTCUT_CHECKPOINT"].replace(".pt", ".npy"), np.zeros((30, 10)))
os.rename(os.environ["NOSHORTCUT_CHECKPOINT"].replace(".pt", ".npy"), os.environ["NOSHORTCUT_CHECKPOINT"])
json.dump({"accuracy": 0.9}, open(os.environ["NOSHORTCUT_METRICS"], "w"))
"""
    learner = _submission(tmp_path, train__py=program, claims__json='{"accuracy": 0.9}')
    hook = tmp_path / "count.py"
    hook.write_text('import json, os, sys\nimport numpy as np\n'
                    'json.dump({"params": int(np.load(sys.argv[1]).size)}, open(os.environ["NOSHORTCUT_METRICS"], "w"))\n')

    result = retrain_submission(learner, _config(tmp_path, params_hook="count.py"), max_params=200)

    assert result.status == "over_budget", result.reason + " | " + "; ".join(result.warnings)
    assert result.params == 300


FILL_TMPDIR = """
import os, tempfile, time
for i in range({chunks}):  # 5 MB files in TMPDIR, 95 MB at most
    fd, path = tempfile.mkstemp(suffix=".bin")
    with os.fdopen(fd, "wb") as fh:
        fh.write(b"x" * (5 * 2**20))
    time.sleep(0.1)
print("TMPDIR", os.environ["TMPDIR"])
"""


@pytest.fixture
def scratch_parent(tmp_path, monkeypatch) -> Path:
    """Where retrain_submission makes its scratch folders (the checker's temp folder)."""
    parent = tmp_path / "scratch-parent"
    parent.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(parent))
    return parent


def test_run_that_fills_the_disk_fails_naming_the_budget_and_leaves_nothing(tmp_path, scratch_parent):
    learner = _submission(tmp_path, train__py=FILL_TMPDIR.format(chunks=19) + WRITE_METRIC.format(value=0.9),
                          claims__json='{"accuracy": 0.9}')

    result = retrain_submission(learner, _config(tmp_path, disk_mb=20), max_params=None)

    assert result.status == "failed"
    assert result.reason.startswith("the run wrote more than 20 MB to disk (its disk budget, disk_mb)")
    assert result.duration_s < 10
    assert list(scratch_parent.iterdir()) == []


def test_run_within_its_disk_budget_is_reproduced_with_its_temp_files_in_the_scratch_copy(tmp_path, scratch_parent):
    learner = _submission(tmp_path, train__py=FILL_TMPDIR.format(chunks=2) + WRITE_METRIC.format(value=0.9),
                          claims__json='{"accuracy": 0.9}')

    result = retrain_submission(learner, _config(tmp_path, disk_mb=20), max_params=None)

    assert result.status == "reproduced", result.reason + result.log_tail
    tmpdir = next(line.split(" ", 1)[1] for line in result.log_tail.splitlines() if line.startswith("TMPDIR"))
    assert Path(tmpdir).parent.parent == scratch_parent
    assert list(scratch_parent.iterdir()) == []


@pytest.mark.slow
def test_a_whole_pickled_model_is_counted_in_the_sandbox_with_the_learners_classes(tmp_path):
    # The checker's one counter (checker/sandbox/checkpoint_count.py), copied into the sandbox
    # and started by path: there, and only there, a pickled model may load the learner's classes.
    pytest.importorskip("torch")
    program = """
import json, os, torch
from net import Net
torch.save({"model": Net(), "epoch": 3}, "whole.pt")
json.dump({"accuracy": 0.9}, open(os.environ["NOSHORTCUT_METRICS"], "w"))
"""
    net = ("import torch.nn as nn\n"
           "class Net(nn.Module):\n"
           "    def __init__(self):\n"
           "        super().__init__()\n"
           "        self.fc = nn.Linear(30, 10)\n")
    learner = _submission(tmp_path, train__py=program, net__py=net, claims__json='{"accuracy": 0.9}')

    result = retrain_submission(learner, _config(tmp_path, checkpoint="whole.pt", memory_mb=2048, timeout_s=120),
                                max_params=300)

    assert result.status == "over_budget", result.reason + " | " + "; ".join(result.warnings) + result.log_tail
    assert result.params == 30 * 10 + 10
