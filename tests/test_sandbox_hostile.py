"""Hostile learner code is contained and reported: network, files outside, fork bomb, memory
bomb, a process that never exits, a daemon that detaches, a disk filler. Each runs for real, with small limits
and short timeouts (the whole file takes ~15 s)."""

from __future__ import annotations

import ast
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from checker.sandbox.limits import (
    RunFailed,
    RunOk,
    RunRefused,
    RunTimeout,
    SandboxLimits,
)
from checker.sandbox.run import _system_mounts, run_in_sandbox
from checker.sandbox.scratch import prepare_scratch

ENV = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/tmp", "PYTHONUNBUFFERED": "1"}


def _limits(**overrides) -> SandboxLimits:
    values = dict(timeout_s=20, memory_mb=512, max_procs=32, max_file_mb=16, tmp_mb=32, disk_mb=256, cpus=1)
    values.update(overrides)
    return SandboxLimits(**values)


def _run(tmp_path: Path, program: str, *args: str, **limits):
    submission = tmp_path / "learner"
    submission.mkdir(exist_ok=True)
    (submission / "main.py").write_text(program)
    with prepare_scratch(submission, max_bytes=10**7, parent=tmp_path) as scratch:
        return run_in_sandbox([sys.executable, "main.py", *args], scratch=scratch,
                              limits=_limits(**limits), env=ENV)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if marker.encode() in fh.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.fixture(autouse=True, scope="module")
def _needs_namespaces(tmp_path_factory):
    probe = tmp_path_factory.mktemp("probe")
    outcome = _run(probe, "pass\n")
    if isinstance(outcome, RunRefused):
        pytest.skip(f"this platform cannot isolate a run, so containment cannot be shown: {outcome.reason}")


def test_network_socket_reaches_neither_the_host_nor_the_internet(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    program = f"""
import socket
for host, port in [("1.1.1.1", 443), ("pypi.org", 443)]:
    try:
        socket.create_connection((host, port), timeout=3)
        print("REACHED", host)
    except OSError as exc:
        print("blocked", host, exc)
socket.create_connection(("127.0.0.1", {port}), timeout=3)  # the checker's host
print("REACHED the host")
"""
    outcome = _run(tmp_path, program)
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):  # a completed connection would wait in the backlog
        listener.accept()
    listener.close()

    assert isinstance(outcome, RunFailed), outcome
    assert "REACHED" not in outcome.log.text
    assert "network" in outcome.reason
    assert outcome.isolation.network


def test_reading_outside_the_scratch_copy_finds_nothing(tmp_path):
    other = tmp_path / "other-learner"  # beside the scratch copy
    other.mkdir()
    (other / "solution.py").write_text("SECRET-OF-ANOTHER-LEARNER = 1\n")
    elsewhere = Path(tempfile.mkdtemp(prefix="noshortcut-secret-"))  # neither the scratch's nor home
    (elsewhere / "token.txt").write_text("SECRET-TOKEN-OF-THE-HOST\n")
    mentor_file = Path(__file__).resolve()  # the checker's own files, in the mentor's checkout
    home = Path.home()
    files = [other / "solution.py", elsewhere / "token.txt", mentor_file, "/etc/shadow",
             "../../other-learner/solution.py"]
    program = f"""
import os, sys
for path in {[str(f) for f in files]!r}:
    try:
        print("LEAK", path, open(path).read()[:80])
    except OSError as exc:
        print("hidden", path, type(exc).__name__)
for folder in {[str(other), str(elsewhere)]!r}:
    try:
        print("LEAK listing", folder, os.listdir(folder))
    except OSError as exc:
        print("hidden", folder, type(exc).__name__)
try:
    print("HOME-LISTING", sorted(os.listdir({str(home)!r})))
except OSError as exc:
    print("HOME-LISTING none", type(exc).__name__)
print("PARENT-LISTING", sorted(os.listdir("..")))
with open("main.py", "a") as fh:
    fh.write("# tampered")
"""
    try:
        outcome = _run(tmp_path, program)
    finally:
        shutil.rmtree(elsewhere)

    assert isinstance(outcome, RunOk), getattr(outcome, "reason", outcome)
    text = outcome.log.text
    assert "LEAK" not in text and "SECRET" not in text
    assert text.count("hidden") == len(files) + 2
    # The mentor's home shows at most the folders on the way to what the sandbox mounts on
    # purpose (the interpreter's installation, wherever it lives: pyenv, a venv, /usr).
    listing = next(line for line in text.splitlines() if line.startswith("HOME-LISTING"))
    mounted = [Path(p) for p in _system_mounts()]
    allowed = {p.relative_to(home).parts[0] for p in mounted if p.is_relative_to(home) and p != home}
    shown = set(ast.literal_eval(listing.split(" ", 1)[1])) if "[" in listing else set()
    assert shown <= allowed
    # Beside its own copy it sees only what the sandbox put there (its output and temp folders).
    parent = next(line for line in text.splitlines() if line.startswith("PARENT-LISTING"))
    assert set(ast.literal_eval(parent.split(" ", 1)[1])) <= {"work", "out", "tmp"}
    assert not (tmp_path / "learner" / "main.py").read_text().endswith("# tampered")


def test_fork_bomb_stops_at_the_process_limit_and_dies_at_the_timeout(tmp_path):
    marker = f"forkbomb-{uuid.uuid4().hex}"
    program = """
import os, time
told = False
while True:
    try:
        os.fork()
    except OSError as exc:
        if not told:
            print("fork refused:", exc, flush=True)
            told = True
        time.sleep(0.001)
"""
    started = time.monotonic()
    outcome = _run(tmp_path, program, marker, timeout_s=3, max_procs=24)
    elapsed = time.monotonic() - started

    assert isinstance(outcome, RunTimeout)
    assert "Resource temporarily unavailable" in outcome.log.text
    assert elapsed < 8
    assert _processes_with(marker) == []


def test_allocation_without_end_stops_at_the_memory_limit(tmp_path):
    program = """
hoard = []
while True:
    hoard.append(b"x" * 20_000_000)
"""
    started = time.monotonic()
    outcome = _run(tmp_path, program, memory_mb=256)

    assert isinstance(outcome, RunFailed)
    assert "memory limit (256 MB)" in outcome.reason
    assert time.monotonic() - started < 15


def test_program_that_never_exits_is_killed_at_the_timeout(tmp_path):
    marker = f"sleeper-{uuid.uuid4().hex}"
    program = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
print("sleeping forever", flush=True)
while True:
    time.sleep(1)
"""
    started = time.monotonic()
    outcome = _run(tmp_path, program, marker, timeout_s=2)
    elapsed = time.monotonic() - started

    assert isinstance(outcome, RunTimeout)
    assert "sleeping forever" in outcome.log.text
    assert 2 <= elapsed < 6
    assert _processes_with(marker) == []


def test_detached_daemon_does_not_outlive_the_run(tmp_path):
    marker = f"daemon-{uuid.uuid4().hex}"
    program = """
import os, time
if os.fork() == 0:
    os.setsid()  # leaves the process group the checker kills
    if os.fork() == 0:
        time.sleep(300)
    os._exit(0)
print("training done", flush=True)
"""
    outcome = _run(tmp_path, program, marker)

    assert isinstance(outcome, RunOk)
    time.sleep(0.2)
    assert _processes_with(marker) == []


WRITE_CHUNKS = """
import os, sys, time
folder, pause = sys.argv[1], float(sys.argv[2])
os.makedirs(folder, exist_ok=True)
for i in range(19):  # 95 MB at most, should nothing stop it
    with open(os.path.join(folder, f"chunk-{i}.bin"), "wb") as fh:
        fh.write(b"x" * (5 * 2**20))
    print("wrote", 5 * (i + 1), "MB", flush=True)
    time.sleep(pause)
print("WROTE EVERYTHING", flush=True)
"""


def _run_keeping_scratch(tmp_path: Path, program: str, *args: str, **limits):
    """Like _run, and also the scratch folder's path (removed by the time this returns)."""
    submission = tmp_path / "learner"
    submission.mkdir(exist_ok=True)
    (submission / "main.py").write_text(program)
    with prepare_scratch(submission, max_bytes=10**7, parent=tmp_path) as scratch:
        env = dict(ENV, TMPDIR=str(scratch.tmp))
        outcome = run_in_sandbox([sys.executable, "main.py", *args], scratch=scratch,
                                 limits=_limits(**limits), env=env)
    return outcome, scratch.root


def _stopped_at_mb(reason: str) -> float:
    return float(re.search(r"([\d,.]+) MB when it", reason).group(1).replace(",", ""))


def test_writing_file_after_file_is_stopped_at_the_disk_budget(tmp_path):
    started = time.monotonic()
    outcome, scratch_root = _run_keeping_scratch(tmp_path, WRITE_CHUNKS, "chunks", "0.1", disk_mb=20)

    assert isinstance(outcome, RunFailed), outcome
    assert "wrote more than 20 MB to disk (its disk budget, disk_mb)" in outcome.reason
    assert "when it was stopped" in outcome.reason
    assert "WROTE EVERYTHING" not in outcome.log.text
    # Each file is below the single-file cap (16 MB): only the total stops it, soon after 20 MB.
    assert _stopped_at_mb(outcome.reason) <= 35
    assert time.monotonic() - started < 10
    assert not scratch_root.exists()


def test_writing_as_fast_as_it_can_is_over_the_budget_even_when_it_ends_between_two_checks(tmp_path):
    outcome, scratch_root = _run_keeping_scratch(tmp_path, WRITE_CHUNKS, "chunks", "0", disk_mb=20)

    assert isinstance(outcome, RunFailed), outcome
    assert "wrote more than 20 MB to disk" in outcome.reason
    assert _stopped_at_mb(outcome.reason) <= 96
    assert not scratch_root.exists()


def test_temporary_files_count_in_the_disk_budget(tmp_path):
    program = WRITE_CHUNKS.replace("folder, pause = sys.argv[1], float(sys.argv[2])",
                                   "import tempfile\nfolder, pause = tempfile.mkdtemp(), 0.1")
    outcome, scratch_root = _run_keeping_scratch(tmp_path, program, disk_mb=20)

    assert isinstance(outcome, RunFailed), outcome
    assert "wrote more than 20 MB to disk" in outcome.reason
    assert not scratch_root.exists()


def test_run_within_its_disk_budget_is_not_disturbed(tmp_path):
    outcome, _ = _run_keeping_scratch(
        tmp_path, WRITE_CHUNKS.replace("range(19)", "range(3)"), "chunks", "0.1", disk_mb=20)

    assert isinstance(outcome, RunOk), getattr(outcome, "reason", outcome)
    assert "WROTE EVERYTHING" in outcome.log.text
