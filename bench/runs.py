"""One tool run as the benchmark records it: what ran, how it went, what it cost.

Shared by bench/run.py (accuracy and speed rounds) and bench/waits.py (the waits a mentor meets:
corpus check, re-scan, task rules). Every run is a child process measured by bench.measure.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.measure import Measured, RunFailed, RunOk, RunTimeout, measure

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent


@dataclass
class ToolRun:
    """One tool's run on one round: what ran, how it went, what it cost."""

    tool: str
    command: list[str]
    status: str  # ok | failed | timeout | unavailable | skipped
    wall_s: float | None = None
    peak_mb: float | None = None
    reason: str = ""
    cpu_s: float | None = None  # user + system seconds of the tool and its workers
    load_1m: float | None = None  # machine load average when it ended (shared machines)
    # peak_mb's two readings (bench.measure): the largest single process, and the largest sum
    # over the tool's processes alive together (forked workers included)
    largest_process_mb: float | None = None
    group_rss_mb: float | None = None


def total_memory_mb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def shown(command: list[str]) -> list[str]:
    """The command as a person would type it in the repository root (where it runs)."""
    prefix = str(REPO_DIR) + os.sep
    return ["python" if part == sys.executable else part.replace(prefix, "")
            for part in command]


def run_tool(tool: str, command: list[str], timeout_s: float,
             ok_returncodes: tuple[int, ...] = (0,), env: dict[str, str] | None = None,
             cwd: Path = REPO_DIR) -> tuple[ToolRun, Measured]:
    outcome = measure(command, timeout_s, cwd=cwd, env=env, ok_returncodes=ok_returncodes)
    command_shown = shown(command)
    readings = {"largest_process_mb": _rounded(outcome.largest_process_mb),
                "group_rss_mb": _rounded(outcome.group_rss_mb)}
    if isinstance(outcome, RunOk):
        run = ToolRun(tool, command_shown, "ok", outcome.wall_s, outcome.peak_mb,
                      cpu_s=outcome.cpu_s, **readings)
    elif isinstance(outcome, RunTimeout):
        run = ToolRun(tool, command_shown, "timeout", outcome.wall_s, outcome.peak_mb,
                      f"killed after {outcome.timeout_s:.0f} s", **readings)
    else:
        assert isinstance(outcome, RunFailed)
        why = f"exit {outcome.returncode}"
        if outcome.returncode == 128 + 9:  # SIGKILL, and not ours (that is a timeout)
            why += " (killed by SIGKILL"
            if outcome.peak_mb > 0.8 * total_memory_mb():
                why += f": the out-of-memory killer, at {outcome.peak_mb / 1024:.1f} GB"
            why += ")"
        run = ToolRun(tool, command_shown, "failed", outcome.wall_s, outcome.peak_mb,
                      f"{why}: {outcome.reason[-600:]}".rstrip(": "), cpu_s=outcome.cpu_s,
                      **readings)
    run.load_1m = round(os.getloadavg()[0], 2)
    return run, outcome


def _rounded(mb: float | None) -> float | None:
    return round(mb, 1) if mb is not None else None
