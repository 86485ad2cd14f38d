"""Wall time and peak memory of a child process, the same way for every tool.

Every tool runs as its own process (never inside the benchmark's), so start-up, imports and
output writing count for all of them alike. Peak memory is the larger of two readings:

* `ru_maxrss` of the tool's process from `wait4`: the kernel's high-water mark of the process
  and of every descendant it waited for (the largest single process, not their sum). It is taken
  by a tiny launcher (`_LAUNCHER`) that starts the tool with posix_spawn, because Linux carries
  the high-water mark of the memory a process had before `exec` into it: a tool forked straight
  from this benchmark (hundreds of MB of generated data) would inherit the benchmark's size.
  The launcher's own ~10 MB is the floor of this reading;
* the largest sum of resident set sizes over the tool's process group (the launcher excluded),
  sampled from /proc every `SAMPLE_S` seconds: catches worker pools whose processes are alive
  together (a sampled peak can miss a spike shorter than the interval, the wait4 one cannot).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_S = 0.05  # 20 samples a second: cheap (a /proc scan) and finer than any run measured
_PAGE = os.sysconf("SC_PAGE_SIZE")
# argv: USAGE_FILE COMMAND...; writes "maxrss_kib user_s system_s" of the tool and exits with
# its exit status (128 + signal when killed)
_LAUNCHER = (
    "import os, sys\n"
    "pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)\n"
    "_, status, u = os.wait4(pid, 0)\n"
    "open(sys.argv[1], 'w').write(f'{u.ru_maxrss} {u.ru_utime} {u.ru_stime}')\n"
    "code = os.waitstatus_to_exitcode(status)\n"
    "sys.exit(code if code >= 0 else 128 - code)\n"
)


@dataclass(frozen=True)
class RunOk:
    wall_s: float
    peak_mb: float  # the larger of the two readings below
    output_tail: str
    # user + system CPU seconds of the tool and the descendants it waited for: unlike wall
    # time, hardly moved by other work on a shared machine
    cpu_s: float | None = None
    # the two readings: the largest single process (wait4's ru_maxrss, the kernel's high-water
    # mark) and the largest sampled sum over the process group (forked workers together; pages
    # they share with their parent after fork count once per process, so this overstates)
    largest_process_mb: float | None = None
    group_rss_mb: float | None = None


@dataclass(frozen=True)
class RunFailed:
    wall_s: float
    peak_mb: float
    returncode: int
    reason: str  # the tail of the tool's output
    cpu_s: float | None = None
    largest_process_mb: float | None = None
    group_rss_mb: float | None = None


@dataclass(frozen=True)
class RunTimeout:
    wall_s: float
    peak_mb: float
    timeout_s: float
    largest_process_mb: float | None = None
    group_rss_mb: float | None = None


Measured = RunOk | RunFailed | RunTimeout


def _group_rss_bytes(pgid: int, exclude: int) -> int:
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == exclude:
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
            # fields after the command name, which may itself hold spaces and parentheses
            fields = stat[stat.rindex(b")") + 2:].split()
            if int(fields[2]) != pgid:  # field 5 of stat: process group id
                continue
            with open(f"/proc/{entry.name}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            continue  # the process ended between listing and reading
    return total


def measure(
    command: list[str],
    timeout_s: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    ok_returncodes: tuple[int, ...] = (0,),
) -> Measured:
    """Run `command` in a new process group, kill the group after `timeout_s`, and measure."""
    with tempfile.TemporaryFile() as output, tempfile.TemporaryDirectory() as scratch:
        usage_file = Path(scratch) / "usage"
        launcher = [sys.executable, "-S", "-c", _LAUNCHER, str(usage_file), *command]
        start = time.perf_counter()
        process = subprocess.Popen(
            launcher, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        peak_sampled = 0
        done = threading.Event()
        timed_out = threading.Event()

        def sample() -> None:
            nonlocal peak_sampled
            while not done.is_set():
                peak_sampled = max(peak_sampled, _group_rss_bytes(process.pid, process.pid))
                if time.perf_counter() - start > timeout_s and not timed_out.is_set():
                    timed_out.set()
                    try:
                        os.killpg(process.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                done.wait(SAMPLE_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, _ = os.wait4(process.pid, 0)  # the launcher's own rusage is polluted
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        try:  # workers the tool left behind are part of its run
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            maxrss_kib, user_s, system_s = usage_file.read_text().split()
            tool_maxrss, cpu_s = int(maxrss_kib) * 1024, float(user_s) + float(system_s)
        except (OSError, ValueError):
            tool_maxrss, cpu_s = 0, None  # killed (timeout) before the launcher wrote it
        peak_mb = max(peak_sampled, tool_maxrss) / 2**20
        readings = {"largest_process_mb": tool_maxrss / 2**20 if tool_maxrss else None,
                    "group_rss_mb": peak_sampled / 2**20}
        output.seek(0)
        tail = output.read()[-4000:].decode("utf-8", errors="replace")
    if timed_out.is_set():
        return RunTimeout(wall, peak_mb, timeout_s, **readings)
    if process.returncode not in ok_returncodes:
        return RunFailed(wall, peak_mb, process.returncode, tail, cpu_s, **readings)
    return RunOk(wall, peak_mb, tail, cpu_s, **readings)
