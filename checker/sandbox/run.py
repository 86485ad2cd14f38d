"""Run one command of learner code in a locked-down child process: the checker's only door to it.

This is the parent side: it prepares the run's spec, starts the launcher (`checker.sandbox.
launcher`, a stdlib-only script started by path in a child `python -I -S`), watches the run
(wall clock, disk budget), kills everything it started, and turns what happened into a value.

What a run gets, where the platform allows it (each protection that is missing is named in
`Isolation.warnings`, and a missing network namespace refuses the run unless the policy is
"warn"):

- a scratch copy of the submission (`checker.sandbox.scratch.prepare_scratch`), never the
  original folder;
- its own network namespace (only a private loopback: no route out, not even to the host's
  127.0.0.1), mount namespace, pid namespace, IPC and UTS namespaces;
- a new root built from read-only bind mounts of the system (`/usr`, `/etc`, `/sys`), the Python
  installation and the task's data, plus its scratch folders read-write and a private tmpfs
  `/tmp` and `/dev/shm`: the mentor's home, other submissions and the checker's own files are
  simply not there;
- an unprivileged user id of its own (when the checker runs as root), so RLIMIT_NPROC caps
  exactly this run's processes and threads (a fork bomb stops at the cap) and root-only files
  stay unreadable;
- limits: a memory cgroup where one can be created (`checker.sandbox.cgroups`, else RLIMIT_AS
  per process), RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_CPU, no core dumps, no_new_privs;
- a disk budget for its scratch folder (`SandboxLimits.disk_mb`): RLIMIT_FSIZE caps each file
  at the budget, and a watchdog in the checker (`_DiskWatch`) measures the folder while the run
  lasts and kills the run once it holds more than the budget beyond the copied submission;
- a scrubbed environment (no HOME of the mentor, no proxies, no tokens);
- a wall-clock timeout after which everything it started dies: its process group, its pid
  namespace (the kernel kills a namespace when its first process dies), its cgroup, its uid;
- its stdout and stderr kept as the first and last bytes (`checker.sandbox.logs`).

Outcomes are values (`checker.sandbox.limits`): `RunOk | RunFailed | RunTimeout | RunRefused`,
each with the log and the `Isolation` the run actually had.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import site
import stat
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from checker.sandbox import launcher
from checker.sandbox.cgroups import MemoryCgroup
from checker.sandbox.limits import (
    CapturedLog,
    Isolation,
    Mount,
    RunFailed,
    RunOk,
    RunOutcome,
    RunRefused,
    RunTimeout,
    SandboxLimits,
)
from checker.sandbox.logs import LogReader, last_error_line
from checker.sandbox.scratch import Scratch, disk_usage, read_sandbox_file

# The launcher is started by path, never imported into the run: `python -I -S` sees no packages.
_LAUNCHER = Path(launcher.__file__).resolve()

# Directories every run sees read-only: the system, not anybody's data. /opt is left out on
# purpose (it often holds other tools and their credentials); an interpreter there is added
# through its prefix like any other.
_SYSTEM_DIRS = ("/usr", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/sys")
# Sandbox uids are drawn at random from 2^24 ids starting at 0x70000000: above the ids
# distributions give to users (< 65536) and above the container ranges systemd hands out
# (which end at 0x6FFFFFFF, per systemd's UIDS-GIDS.md). Parallel runs, even from separate
# checker processes, practically never collide, and ids in use are skipped (checked in /proc).
_UID_BASE = 0x70000000
_UID_SPAN = 1 << 24


def run_in_sandbox(
    argv: Sequence[str],
    *,
    scratch: Scratch,
    limits: SandboxLimits,
    env: Mapping[str, str],
    mounts: Sequence[Mount] = (),
    out_dir: Path | None = None,
    log_head_bytes: int = 16_384,
    log_tail_bytes: int = 65_536,
) -> RunOutcome:
    """Run `argv` with `scratch.work` as its working directory; wait, kill, report.

    `env` is the command's whole environment (nothing of the checker's is inherited). `mounts`
    are extra host paths shown read-only (or read-write) inside. `out_dir` (default
    `scratch.out`) is shown read-write for the run's metrics, and `scratch.tmp` for its TMPDIR
    (the caller points TMPDIR there). Paths inside the sandbox are the same as on the host, so
    the caller can name them in `env` before knowing how much isolation the platform gives; a
    mount with a different `target` degrades to a symlink.

    The disk budget (`limits.disk_mb`) covers what the run adds to the scratch folder (and to
    `out_dir` when that lies elsewhere); writable caller `mounts` are not measured.
    """
    out_dir = Path(out_dir or scratch.out)
    sandbox_uid = _pick_sandbox_uid() if os.geteuid() == 0 else None
    if sandbox_uid is not None:
        for writable in (scratch.work, out_dir, scratch.tmp):
            if writable is not None:
                _chown_tree(writable, sandbox_uid)
    cgroup = MemoryCgroup.create(f"noshortcut-{os.getpid()}-{random.getrandbits(32):08x}", limits.memory_mb)
    try:
        return _run(argv, scratch, limits, env, mounts, out_dir, sandbox_uid, cgroup,
                    log_head_bytes, log_tail_bytes)
    finally:
        if cgroup:  # also when the checker itself is interrupted
            cgroup.kill_all()
            cgroup.remove()


def _run(
    argv: Sequence[str],
    scratch: Scratch,
    limits: SandboxLimits,
    env: Mapping[str, str],
    mounts: Sequence[Mount],
    out_dir: Path,
    sandbox_uid: int | None,
    cgroup: MemoryCgroup | None,
    log_head_bytes: int,
    log_tail_bytes: int,
) -> RunOutcome:
    spec = {
        "argv": list(argv),
        "env": dict(env),
        "cwd": str(scratch.work),
        "namespaces": limits.namespaces,
        "network_policy": limits.network,
        "newroot": str(scratch.root / "root"),
        "system": _system_mounts(),
        # The run's own folders and the caller's mounts: [source, target, writable].
        "mounts": [[str(scratch.work), str(scratch.work), True], [str(out_dir), str(out_dir), True]]
        + ([[str(scratch.tmp), str(scratch.tmp), True]] if scratch.tmp else [])
        + [[str(m.source), m.inside, m.writable] for m in mounts],
        "devices": _gpu_devices() if limits.gpu else [],
        "tmp_mb": limits.tmp_mb,
        "uid": sandbox_uid,
        # Without a new root, an unprivileged uid must reach the interpreter and the run's
        # folders through the host's own folders (the scratch folder's parent may be 0700).
        "reachable_by_others": _reachable_by_others(Path(sys.executable).resolve()) and all(
            _reachable_by_others(folder, itself=False)
            for folder in (scratch.work, out_dir, scratch.tmp) if folder is not None
        ),
        "rlimits": _rlimits(limits, memory_cgroup=cgroup is not None),
        "cgroup_procs": str(cgroup.path / "cgroup.procs") if cgroup else None,
        "memory": (
            f"cgroup {limits.memory_mb} MB"
            if cgroup
            else ("none" if limits.gpu else f"address space {limits.memory_mb} MB per process")
        ),
        "gpu_requested": limits.gpu,
        "status_path": str(scratch.root / "status.json"),
        "parent_pid": os.getpid(),
    }
    spec_path = scratch.root / "spec.json"
    spec_path.write_text(json.dumps(spec))
    os.chmod(spec_path, 0o600)
    watched = [scratch.root] + ([] if _is_within(str(out_dir), str(scratch.root)) else [out_dir])
    baseline = scratch.baseline_bytes
    if baseline is None:  # a Scratch made by hand: the budget starts now
        baseline = disk_usage(watched)
    disk = _DiskWatch(watched, baseline, limits.disk_mb)

    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", "-B", str(_LAUNCHER), "--launch", str(spec_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, killed as one on timeout
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        cwd=scratch.root,
        close_fds=True,
    )
    reader = LogReader(proc.stdout, log_head_bytes, log_tail_bytes)
    reader.start()
    timed_out = False
    deadline = started + limits.timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            try:
                proc.wait(timeout=min(left, disk.next_check_s))
                break
            except subprocess.TimeoutExpired:
                if disk.check():
                    break
    finally:
        _kill_everything(proc, sandbox_uid, cgroup)
    duration = time.monotonic() - started
    log = reader.finish(grace_s=2.0)
    disk.check(final=True)  # what it left: a burst between two checks, or the last one's overshoot

    status = _read_status(scratch.root / "status.json")
    isolation = _isolation_from(status, spec)
    peak_mb, oom_killed = (cgroup.peak_mb(), cgroup.oom_killed()) if cgroup else (None, False)
    if status.get("refused"):
        return RunRefused(reason=status["refused"], isolation=isolation)
    if disk.exceeded:
        return RunFailed(disk.reason(), duration, log, isolation, status.get("exit_code"),
                         status.get("signal"), peak_mb)
    if timed_out:
        return RunTimeout(limits.timeout_s, duration, log, isolation, peak_mb)
    if status.get("setup_error"):
        reason = f"the sandbox could not start the command: {status['setup_error']}"
        return RunFailed(reason, duration, log, isolation, None, None, peak_mb)
    if "exit_code" in status or "signal" in status:
        exit_code, sig = status.get("exit_code"), status.get("signal")
    else:  # the launcher did not get to write it (it crashed): use its own status
        code = proc.returncode
        exit_code, sig = (None, -code) if code < 0 else (code, None)
    if exit_code == 0 and sig is None:
        return RunOk(duration, log, isolation, peak_mb)
    reason = _explain_failure(exit_code, sig, log, limits, oom_killed)
    return RunFailed(reason, duration, log, isolation, exit_code, sig, peak_mb)


# The disk watchdog measures the scratch folder first after _DISK_CHECK_MIN_S, then at twice
# the last interval up to _DISK_CHECK_S; sooner when the run writes fast enough to reach its
# budget before then (down to _DISK_CHECK_MIN_S again); never sooner than one measurement took
# (so it costs at most half a core, whatever the run leaves behind).
_DISK_CHECK_S = 0.25
_DISK_CHECK_MIN_S = 0.02


class _DiskWatch:
    """A run's disk budget, measured from the checker's side while the run lasts.

    Why a watchdog: RLIMIT_FSIZE caps one file, not six of them; a size-limited tmpfs would
    count the files in memory and vanish with the run's mount namespace (the checker reads the
    metrics and the checkpoint afterwards); a loop-mounted image needs loop devices and mkfs,
    which containers often lack. The budget can be overshot by what the run writes between two
    checks; the interval shrinks as the run nears its budget at the rate it writes.
    """

    def __init__(self, roots: Sequence[Path], baseline: int, disk_mb: int) -> None:
        self.roots, self.baseline, self.disk_mb = list(roots), baseline, disk_mb
        self.budget = disk_mb * 2**20
        self.used = 0  # bytes beyond the baseline at the last check
        self.exceeded = False
        self.stopped = False  # exceeded while it ran (else: found over when it had ended)
        self.next_check_s = _DISK_CHECK_MIN_S
        self._last = time.monotonic()

    def check(self, final: bool = False) -> bool:
        """Measure; True when the run holds more than its budget. `final` measures it all,
        for the figure in the reason, and does not count as stopping the run."""
        started = time.monotonic()
        stop = None if final else self.baseline + self.budget
        used = max(0, disk_usage(self.roots, stop_above=stop) - self.baseline)
        now = time.monotonic()
        rate = (used - self.used) / max(now - self._last, 1e-3)
        self.used, self._last = used, now
        if used > self.budget:
            self.stopped = self.stopped or not final
            self.exceeded = True
            return True
        interval = min(2 * self.next_check_s, _DISK_CHECK_S)
        if rate > 0:
            interval = min(interval, (self.budget - used) / rate / 2)
        self.next_check_s = max(interval, _DISK_CHECK_MIN_S, now - started)
        return False

    def reason(self) -> str:
        when = "when it was stopped" if self.stopped else "when it ended"
        used_mb = math.ceil(self.used / 2**20 * 10) / 10  # rounded up: "20.0" would read as within
        return (f"the run wrote more than {self.disk_mb:,} MB to disk (its disk budget, disk_mb): "
                f"{used_mb:,.1f} MB {when}")


def _system_mounts() -> list[str]:
    """System folders and the interpreter's installation, shown read-only at their own paths."""
    paths: list[str] = [p for p in _SYSTEM_DIRS if os.path.lexists(p)]
    interpreter = [
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
    ]
    try:
        interpreter += site.getsitepackages()
    except AttributeError:  # some virtualenv versions lack it
        pass
    # Not the user site (~/.local): it is in the mentor's home, and the run's HOME is /tmp.
    for path in interpreter:
        path = os.path.realpath(path)
        if path == "/":  # an interpreter at the root would expose everything; keep the system view
            continue
        if os.path.isdir(path) and not any(_is_within(path, kept) for kept in paths):
            paths = [kept for kept in paths if not _is_within(kept, path)] + [path]
    return paths


def _is_within(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _reachable_by_others(path: Path, *, itself: bool = True) -> bool:
    """Can an unprivileged user reach `path` without our new root (every folder on the way
    searchable by others, and with `itself`, `path` executable by them)? pyenv under /root
    (0700) is the usual no for the interpreter, pytest's 0700 temp folder for a scratch copy."""
    try:
        for folder in [*path.parents]:
            if not os.stat(folder).st_mode & stat.S_IXOTH:
                return False
        return not itself or bool(os.stat(path).st_mode & stat.S_IXOTH)
    except OSError:
        return False


def _rlimits(limits: SandboxLimits, *, memory_cgroup: bool) -> dict[str, int | None]:
    mib = 2**20
    if limits.gpu:
        address_space = None  # CUDA reserves tens of GB of address space; only a cgroup works
    elif memory_cgroup:
        # The cgroup is the real limit; this is a backstop against allocations never touched
        # (which a cgroup does not count), loose enough for glibc's per-thread arenas.
        address_space = max(4 * limits.memory_mb, limits.memory_mb + 4096) * mib
    else:
        address_space = limits.memory_mb * mib
    return {
        "RLIMIT_AS": address_space,
        "RLIMIT_FSIZE": min(limits.max_file_mb, limits.disk_mb) * mib,  # no file beyond the budget
        "RLIMIT_NPROC": limits.max_procs,
        "RLIMIT_NOFILE": 4096,
        "RLIMIT_CORE": 0,
        # CPU seconds, per process: a backstop behind the wall clock.
        "RLIMIT_CPU": int(limits.timeout_s * max(limits.cpus, os.cpu_count() or 1)) + 10,
    }


def _pick_sandbox_uid() -> int:
    in_use = _uids_in_use()
    while True:
        uid = _UID_BASE + random.randrange(_UID_SPAN)
        if uid not in in_use:
            return uid


def _uids_in_use() -> set[int]:
    uids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                uids.add(os.stat(f"/proc/{entry}").st_uid)
            except OSError:
                pass
    return uids


def _chown_tree(root: Path, uid: int) -> None:
    os.lchown(root, uid, uid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            try:
                os.lchown(os.path.join(dirpath, name), uid, uid)
            except OSError:
                pass


def _gpu_devices() -> list[str]:
    dev = Path("/dev")
    found = sorted(str(p) for p in dev.glob("nvidia*") if p.exists())
    return found


def pids_of_uid(uid: int) -> list[int]:
    """Live processes whose real uid is `uid` (to check that nothing of a run survived it).
    Zombies are left out: they run nothing and their parent (or init) reaps them."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        try:
            if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith(("Z", "X")):
                found.append(int(entry))
        except (KeyError, ValueError, IndexError):
            pass
    return found


def _kill_everything(proc: subprocess.Popen, sandbox_uid: int | None, cgroup: MemoryCgroup | None) -> None:
    """Leave nothing of the run alive, whichever protections it had.

    The pid namespace already guarantees it (its first process dies with the launcher through
    PR_SET_PDEATHSIG, and the kernel then kills the namespace); the process group, the cgroup
    and the sandbox uid are the fallbacks where there is no pid namespace, and cover a process
    that called setsid() to leave the group.
    """
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    proc.wait()
    if cgroup:
        cgroup.kill_all()
    if sandbox_uid is not None:
        for _ in range(20):
            if not pids_of_uid(sandbox_uid):
                break
            _kill_uid(sandbox_uid)
            time.sleep(0.02)


def _kill_uid(uid: int) -> None:
    """kill(-1, SIGKILL) as `uid`: every process of that uid, wherever it went."""
    reaper = (f"import os\nos.setgroups([]); os.setgid({uid}); os.setuid({uid})\n"
              "try:\n    os.kill(-1, 9)\nexcept ProcessLookupError:\n    pass\n")
    subprocess.run(
        [sys.executable, "-I", "-S", "-c", reaper],
        env={}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        check=False,
    )


def _read_status(path: Path) -> dict:
    raw = read_sandbox_file(path)
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return {}


def _isolation_from(status: dict, spec: dict) -> Isolation:
    facts = status.get("isolation") or {}
    return Isolation(
        network=bool(facts.get("network")),
        filesystem=bool(facts.get("filesystem")),
        processes=bool(facts.get("processes")),
        user=str(facts.get("user", "unchanged")),
        process_limit=bool(facts.get("process_limit")),
        memory=str(facts.get("memory", spec["memory"])),
        gpu=bool(facts.get("gpu")),
        warnings=tuple(facts.get("warnings", ())),
    )


_MEMORY_ERROR_MARKS = (
    "MemoryError",
    "Cannot allocate memory",
    "std::bad_alloc",
    "can't allocate memory",
    "out of memory",
)
_NETWORK_ERROR_MARKS = (
    "Network is unreachable",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Connection refused",
    "No address associated with hostname",
)


def _explain_failure(
    exit_code: int | None, sig: int | None, log: CapturedLog, limits: SandboxLimits, oom_killed: bool
) -> str:
    """Why the run failed, in words: the limit it hit where we can tell, else its last error."""
    text = log.text
    if oom_killed or any(mark in text for mark in _MEMORY_ERROR_MARKS):
        what = f"ran out of its memory limit ({limits.memory_mb} MB)"
    elif sig == signal.SIGXCPU:
        what = "used up its CPU-time limit"
    elif sig == signal.SIGXFSZ or "File too large" in text:
        what = f"tried to write a file larger than {min(limits.max_file_mb, limits.disk_mb)} MB"
        if limits.disk_mb < limits.max_file_mb:
            what += " (its disk budget, disk_mb)"
    elif "Resource temporarily unavailable" in text and "fork" in text.lower():
        what = f"hit the process limit ({limits.max_procs} processes and threads)"
    elif any(mark in text for mark in _NETWORK_ERROR_MARKS):
        what = "tried to use the network, which the sandbox blocks"
    elif sig is not None:
        what = f"was killed by signal {signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig}"
    else:
        what = f"exited with code {exit_code}"
    last = last_error_line(text)
    return f"the run {what}" + (f": {last}" if last else "")
