"""The sandbox's everyday behaviour: scratch copies, scrubbed environment, logs, outcomes, and
what happens where the platform cannot isolate a run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from checker.sandbox.limits import RunFailed, RunOk, RunRefused, SandboxLimits
from checker.sandbox.run import run_in_sandbox
from checker.sandbox.scratch import ScratchRefused, prepare_scratch, read_sandbox_file

ENV = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/tmp"}


def _limits(**overrides) -> SandboxLimits:
    values = dict(timeout_s=20, memory_mb=512, max_procs=32, max_file_mb=16, tmp_mb=32, disk_mb=256, cpus=1)
    values.update(overrides)
    return SandboxLimits(**values)


def _submission(tmp_path: Path, program: str) -> Path:
    submission = tmp_path / "learner"
    submission.mkdir(exist_ok=True)
    (submission / "main.py").write_text(program)
    return submission


def _run(tmp_path: Path, program: str, *, env=ENV, argv=None, **limits):
    submission = _submission(tmp_path, program)
    with prepare_scratch(submission, max_bytes=10**7, parent=tmp_path) as scratch:
        return run_in_sandbox(argv or [sys.executable, "main.py"], scratch=scratch,
                              limits=_limits(**limits), env=env)


@pytest.fixture(scope="module")
def isolation_available(tmp_path_factory) -> None:
    outcome = _run(tmp_path_factory.mktemp("probe"), "pass\n")
    if isinstance(outcome, RunRefused):
        pytest.skip(f"this platform cannot isolate a run: {outcome.reason}")


def test_the_mentors_environment_does_not_reach_the_run(tmp_path, monkeypatch, isolation_available):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "mentor-secret-key")
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    program = "import os\nfor k, v in sorted(os.environ.items()):\n    print(f'{k}={v}')\n"
    outcome = _run(tmp_path, program, env=dict(ENV, NOSHORTCUT_SHORT="1"))

    assert isinstance(outcome, RunOk)
    assert "mentor-secret-key" not in outcome.log.text
    assert "proxy" not in outcome.log.text
    assert "HOME=/tmp" in outcome.log.text and "NOSHORTCUT_SHORT=1" in outcome.log.text


def test_run_works_on_a_copy_and_the_submission_is_untouched(tmp_path, isolation_available):
    program = "import os\nos.remove('main.py')\nopen('model.pt', 'w').write('weights')\n"
    outcome = _run(tmp_path, program)

    assert isinstance(outcome, RunOk)
    assert sorted(p.name for p in (tmp_path / "learner").iterdir()) == ["main.py"]


def test_failure_reports_the_exit_code_and_the_exception(tmp_path, isolation_available):
    outcome = _run(tmp_path, "import missing_learner_module\n")

    assert isinstance(outcome, RunFailed)
    assert outcome.exit_code == 1
    assert "exited with code 1" in outcome.reason
    assert "ModuleNotFoundError: No module named 'missing_learner_module'" in outcome.reason


def test_unknown_command_is_a_failure_that_says_so(tmp_path, isolation_available):
    outcome = _run(tmp_path, "pass\n", argv=["no-such-trainer", "--epochs", "1"])

    assert isinstance(outcome, RunFailed)
    assert "command not found: no-such-trainer" in outcome.reason


def test_file_larger_than_the_limit_cannot_be_written(tmp_path, isolation_available):
    program = "with open('dump.bin', 'wb') as fh:\n    for _ in range(64):\n        fh.write(b'x' * 2**20)\n"
    outcome = _run(tmp_path, program, max_file_mb=4)

    assert isinstance(outcome, RunFailed)
    assert "larger than 4 MB" in outcome.reason


def test_flood_of_output_is_kept_as_head_and_tail(tmp_path, isolation_available):
    program = ("import sys\nprint('FIRST LINE')\nfor i in range(200_000):\n"
               "    sys.stdout.write('noise ' * 10 + '\\n')\nprint('\\x1b[31mLAST LINE\\x1b[0m')\n")
    outcome = _run(tmp_path, program)

    assert isinstance(outcome, RunOk)
    assert outcome.log.truncated and outcome.log.total_bytes > 10_000_000
    assert len(outcome.log.text) < 100_000
    assert outcome.log.text.startswith("FIRST LINE")
    assert outcome.log.text.rstrip().endswith("LAST LINE")  # escape codes removed
    assert "bytes of output omitted" in outcome.log.text


def test_without_namespaces_the_refuse_policy_does_not_run(tmp_path):
    outcome = _run(tmp_path, "open('ran', 'w')\n", namespaces=False, network="refuse")

    assert isinstance(outcome, RunRefused)
    assert "network namespace" in outcome.reason and 'network = "warn"' in outcome.reason


def test_without_namespaces_the_warn_policy_runs_and_says_so_loudly(tmp_path):
    outcome = _run(tmp_path, "print('ran')\n", namespaces=False, network="warn")

    assert isinstance(outcome, RunOk)
    assert "ran" in outcome.log.text
    assert not outcome.isolation.network
    assert any(w.startswith("NO NETWORK ISOLATION") for w in outcome.isolation.warnings)


def test_host_side_reads_do_not_follow_links_the_run_left(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    planted = tmp_path / "metrics.json"
    planted.symlink_to(secret)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    assert read_sandbox_file(planted) is None
    assert read_sandbox_file(fifo) is None
    assert read_sandbox_file(secret, max_bytes=4) == b"host"


def test_scratch_copy_keeps_links_as_links_and_skips_special_files(tmp_path):
    submission = tmp_path / "learner"
    submission.mkdir()
    (submission / "train.py").write_text("print(1)\n")
    (submission / "passwords").symlink_to("/etc/shadow")
    os.mkfifo(submission / "pipe")

    with prepare_scratch(submission, max_bytes=10**6, parent=tmp_path) as scratch:
        assert (scratch.work / "passwords").is_symlink()
        assert not (scratch.work / "pipe").exists()
        assert (scratch.work / "train.py").read_text() == "print(1)\n"
        root = scratch.root
    assert not root.exists()


def test_scratch_copy_refuses_an_oversized_submission(tmp_path):
    submission = tmp_path / "learner"
    submission.mkdir()
    (submission / "data.bin").write_bytes(b"\0" * 2_000_000)

    with pytest.raises(ScratchRefused, match="more than 1 MB"):
        prepare_scratch(submission, max_bytes=2**20, parent=tmp_path)


def test_limits_are_checked_when_made():
    with pytest.raises(ValueError, match="network policy"):
        SandboxLimits(timeout_s=1, memory_mb=1, max_procs=1, max_file_mb=1, tmp_mb=1, disk_mb=1, cpus=1, network="allow")
    with pytest.raises(ValueError, match="timeout_s"):
        SandboxLimits(timeout_s=0, memory_mb=1, max_procs=1, max_file_mb=1, tmp_mb=1, disk_mb=1, cpus=1)
