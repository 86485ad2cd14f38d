"""Run one command of learner code in a locked-down child process: the checker's only door to it.

What a run gets, where the platform allows it (each protection that is missing is named in
`Isolation.warnings`, and a missing network namespace refuses the run unless the policy is
"warn"):

- a scratch copy of the submission (`prepare_scratch`), never the original folder;
- its own network namespace (only a private loopback: no route out, not even to the host's
  127.0.0.1), mount namespace, pid namespace, IPC and UTS namespaces;
- a new root built from read-only bind mounts of the system (`/usr`, `/etc`, `/sys`), the Python
  installation and the task's data, plus its scratch folders read-write and a private tmpfs
  `/tmp` and `/dev/shm`: the mentor's home, other submissions and the checker's own files are
  simply not there;
- an unprivileged user id of its own (when the checker runs as root), so RLIMIT_NPROC caps
  exactly this run's processes and threads (a fork bomb stops at the cap) and root-only files
  stay unreadable;
- limits: a memory cgroup where one can be created (else RLIMIT_AS per process), RLIMIT_FSIZE,
  RLIMIT_NOFILE, RLIMIT_CPU, no core dumps, no_new_privs;
- a disk budget for its scratch folder (`SandboxLimits.disk_mb`): RLIMIT_FSIZE caps each file
  at the budget, and a watchdog in the checker measures the folder while the run lasts and
  kills the run once it holds more than the budget beyond the copied submission;
- a scrubbed environment (no HOME of the mentor, no proxies, no tokens);
- a wall-clock timeout after which everything it started dies: its process group, its pid
  namespace (the kernel kills a namespace when its first process dies), its cgroup, its uid;
- its stdout and stderr kept as the first and last bytes (`CapturedLog`).

Mechanism, and why not bubblewrap: the checker starts `python -I -S sandbox.py --launch SPEC`
(this very file; it imports only the standard library, which is why nothing from `checker` is
imported at module level). That launcher calls unshare(2) through ctypes, forks the first
process of the new pid namespace, which builds the new root, pivots into it, drops to the
sandbox uid and execs the command. util-linux and the kernel are everywhere the checker runs;
bubblewrap would be one more system package, and its `--uid` only maps ids inside a user
namespace, which does not make RLIMIT_NPROC count this run alone when the checker is root.
When the checker is not root, the launcher asks for an unprivileged user namespace instead.

Outcomes are values: `RunOk | RunFailed | RunTimeout | RunRefused`, each with the log and the
`Isolation` the run actually had.
"""

from __future__ import annotations

import ctypes
import errno
import json
import math
import os
import random
import re
import select
import shutil
import signal
import site
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

# ----------------------------------------------------------------------------------------
# Public value types
# ----------------------------------------------------------------------------------------

NETWORK_POLICIES = ("refuse", "warn")


@dataclass(frozen=True)
class SandboxLimits:
    """What one run may use. The sizes have no defaults here on purpose: callers take them
    from `checker.defaults` (this module must not import the package, see the module doc)."""

    timeout_s: float
    memory_mb: int
    max_procs: int  # processes and threads at once
    max_file_mb: int  # largest single file written
    tmp_mb: int  # private /tmp and /dev/shm
    disk_mb: int  # what the run may add to its scratch folder on disk, all files together
    cpus: int  # threads the run is told to use; CPU seconds = timeout_s * cpus
    network: str = "refuse"  # refuse | warn, when no network namespace can be made
    gpu: bool = False  # pass NVIDIA devices through when present
    namespaces: bool = True  # False: do not even try (platforms that forbid them, tests)

    def __post_init__(self) -> None:
        if self.network not in NETWORK_POLICIES:
            raise ValueError(f"network policy must be one of {NETWORK_POLICIES}, got {self.network!r}")
        for name in ("timeout_s", "memory_mb", "max_procs", "max_file_mb", "tmp_mb", "disk_mb", "cpus"):
            if not getattr(self, name) > 0:
                raise ValueError(f"sandbox limit {name} must be positive, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class Mount:
    """A host path shown inside the sandbox at `target` (default: the same path)."""

    source: Path
    target: str | None = None
    writable: bool = False

    @property
    def inside(self) -> str:
        return self.target or str(self.source)


@dataclass(frozen=True)
class Isolation:
    """Which protections a run actually had; `warnings` names every missing one in words."""

    network: bool = False
    filesystem: bool = False
    processes: bool = False  # own pid namespace: nothing survives the run
    user: str = "unchanged"  # "uid N" (own unprivileged uid), "user namespace", "unchanged"
    process_limit: bool = False  # RLIMIT_NPROC counts this run alone
    memory: str = "none"  # "cgroup N MB", "address space N MB per process", "none"
    gpu: bool = False
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        data = asdict(self)
        data["warnings"] = list(self.warnings)
        return data


@dataclass(frozen=True)
class CapturedLog:
    """stdout+stderr of a run: its first and last bytes, decoded and made safe to display."""

    text: str
    total_bytes: int
    truncated: bool

    def tail(self, max_chars: int) -> str:
        if len(self.text) <= max_chars:
            return self.text
        cut = self.text[-max_chars:]
        newline = cut.find("\n")
        return cut[newline + 1 :] if 0 <= newline < 200 else cut


@dataclass(frozen=True)
class RunOk:
    duration_s: float
    log: CapturedLog
    isolation: Isolation
    peak_memory_mb: float | None = None


@dataclass(frozen=True)
class RunFailed:
    reason: str  # words a mentor can read: exit code or signal, and why where we can tell
    duration_s: float
    log: CapturedLog
    isolation: Isolation
    exit_code: int | None = None
    signal: int | None = None
    peak_memory_mb: float | None = None


@dataclass(frozen=True)
class RunTimeout:
    timeout_s: float
    duration_s: float
    log: CapturedLog
    isolation: Isolation
    peak_memory_mb: float | None = None


@dataclass(frozen=True)
class RunRefused:
    reason: str
    isolation: Isolation


RunOutcome = RunOk | RunFailed | RunTimeout | RunRefused


class ScratchRefused(Exception):
    """The submission cannot be copied into a scratch folder (too large, missing); says why."""


# ----------------------------------------------------------------------------------------
# Scratch folders
# ----------------------------------------------------------------------------------------


@dataclass
class Scratch:
    """A private folder for one submission's runs, removed by `cleanup` (or `with`).

    `work` holds the copy of the submission and is the run's working directory; `out` is where
    the run writes its metrics; `tmp` is for the run's TMPDIR, so that temporary files count
    in its disk budget like the rest. The folder itself is 0711 so an unprivileged sandbox
    user can reach `work` without listing its neighbours. `baseline_bytes` is the folder's
    disk use right after the copy (`disk_usage`): a run's disk budget is what it adds to it.
    """

    root: Path
    work: Path
    out: Path
    copied_bytes: int = 0
    tmp: Path | None = None
    baseline_bytes: int | None = None

    def fresh_dir(self, name: str) -> Path:
        """An empty folder next to `out`, for a later run that must not see what an earlier one
        left behind (the parameter count, after training)."""
        path = self.root / name
        if path.exists():
            shutil.rmtree(path)
        path.mkdir()
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def prepare_scratch(submission: Path, *, max_bytes: int, parent: Path | None = None) -> Scratch:
    """Copy `submission` into a new scratch folder; raise ScratchRefused with the reason.

    Symlinks are copied as links (never followed: a link to /etc/shadow stays a link, and inside
    the sandbox it points at nothing readable); FIFOs, sockets and devices are skipped (copying
    a FIFO would block forever). The size is measured before copying anything.
    """
    submission = Path(submission)
    if not submission.is_dir():
        raise ScratchRefused(f"{submission} is not a folder")
    total = 0
    for dirpath, dirnames, filenames in os.walk(submission):
        for name in filenames:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
        if total > max_bytes:
            raise ScratchRefused(
                f"{submission} holds more than {max_bytes // 2**20} MB of files; data and "
                "checkpoints belong in the task's read-only data folder, not in the submission"
            )
    root = Path(tempfile.mkdtemp(prefix="noshortcut-run-", dir=parent))
    os.chmod(root, 0o711)
    work = root / "work"
    shutil.copytree(submission, work, symlinks=True, ignore=_skip_special_files)
    out = root / "out"
    out.mkdir()
    tmp = root / "tmp"
    tmp.mkdir()
    (root / "root").mkdir()  # mount point for the sandbox's new root
    return Scratch(root=root, work=work, out=out, copied_bytes=total, tmp=tmp,
                   baseline_bytes=disk_usage([root]))


def _skip_special_files(directory: str, names: list[str]) -> list[str]:
    skipped = []
    for name in names:
        try:
            mode = os.lstat(os.path.join(directory, name)).st_mode
        except OSError:
            skipped.append(name)
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skipped.append(name)
    return skipped


# The least one entry of a scratch folder is charged: an empty file costs an inode and a
# directory entry but no block, so without a floor a run could create files without end for
# free; and the floor bounds a measurement to (budget / 4 KiB) entries before it stops.
_ENTRY_BYTES = 4096


def disk_usage(roots: Sequence[Path], stop_above: int | None = None) -> int:
    """Bytes the files and folders under `roots` take on disk: per entry the most of its
    allocated blocks, its size (regular files: a file whose blocks are not allocated yet still
    counts) and `_ENTRY_BYTES`. Links are not followed, mount points inside are not special
    (the run's mounts exist only in its own namespace). With `stop_above`, returns as soon as
    the total passes it, so one measurement costs at most `stop_above / _ENTRY_BYTES` entries.
    """
    total = 0
    stack = [os.fspath(r) for r in roots]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:  # removed meanwhile
                        continue
                    size = st.st_size if stat.S_ISREG(st.st_mode) else 0
                    total += max(st.st_blocks * 512, size, _ENTRY_BYTES)
                    if stop_above is not None and total > stop_above:
                        return total
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(entry.path)
        except OSError:
            continue
    return total


def read_sandbox_file(path: Path, max_bytes: int = 1_000_000) -> bytes | None:
    """Read a file the sandbox wrote, from the host side, without trusting it.

    The run controls what it leaves behind: a symlink to a host file, a FIFO, a huge file.
    O_NOFOLLOW refuses the link, the fstat check refuses anything but a regular file, and at
    most `max_bytes` are read. None when there is no such regular file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, left = [], max_bytes
        while left > 0:
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------------------

# Exit codes of the launcher itself (the command's own codes pass through unchanged).
_EXIT_REFUSED = 3
_EXIT_SETUP = 125

# Directories every run sees read-only: the system, not anybody's data. /opt is left out on
# purpose (it often holds other tools and their credentials); an interpreter there is added
# through its prefix like any other.
_SYSTEM_DIRS = ("/usr", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/sys")
_DEVICES = ("null", "zero", "full", "random", "urandom")
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
    cgroup = _MemoryCgroup.create(f"noshortcut-{os.getpid()}-{random.getrandbits(32):08x}", limits.memory_mb)
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
    cgroup: _MemoryCgroup | None,
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
        [sys.executable, "-I", "-S", "-B", str(Path(__file__).resolve()), "--launch", str(spec_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, killed as one on timeout
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        cwd=scratch.root,
        close_fds=True,
    )
    reader = _LogReader(proc.stdout, log_head_bytes, log_tail_bytes)
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


def _kill_everything(proc: subprocess.Popen, sandbox_uid: int | None, cgroup: _MemoryCgroup | None) -> None:
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


def last_error_line(text: str) -> str:
    """The line a mentor wants: the exception at the end of a traceback, else the last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines[-40:]):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b", line):
            return line[:300]
    return lines[-1][:300] if lines else ""


class _LogReader(threading.Thread):
    """Drain the run's stdout+stderr pipe, keeping the first and last bytes only."""

    def __init__(self, pipe, head_bytes: int, tail_bytes: int) -> None:
        super().__init__(daemon=True)
        self._pipe = pipe
        self._head = bytearray()
        self._tail = bytearray()
        self._head_bytes, self._tail_bytes = head_bytes, tail_bytes
        self._total = 0
        self._stopping = threading.Event()

    def run(self) -> None:
        fd = self._pipe.fileno()
        while not self._stopping.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self._total += len(chunk)
            room = self._head_bytes - len(self._head)
            if room > 0:
                self._head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self._tail += chunk
                if len(self._tail) > 2 * self._tail_bytes:
                    del self._tail[: len(self._tail) - self._tail_bytes]

    def finish(self, grace_s: float) -> CapturedLog:
        """Wait for the end of the output (every writer is dead by now), but not forever: a
        process that escaped (only possible without a pid namespace) may hold the pipe."""
        self.join(grace_s)
        self._stopping.set()
        self.join(1.0)
        self._pipe.close()
        tail = bytes(self._tail[-self._tail_bytes :])
        omitted = self._total - len(self._head) - len(tail)
        text = _safe_text(bytes(self._head))
        if omitted > 0:
            text += f"\n[... {omitted} bytes of output omitted ...]\n"
        text += _safe_text(tail)
        return CapturedLog(text=text, total_bytes=self._total, truncated=omitted > 0)


_ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _safe_text(data: bytes) -> str:
    """Bytes from a learner's program, made safe for a terminal and a report: invalid UTF-8
    replaced (a cut through a character included), terminal escapes and control characters
    removed, and carriage-return progress bars reduced to what a terminal would show last."""
    text = data.decode("utf-8", errors="replace")
    text = _ANSI.sub("", text)
    text = "\n".join(line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
                     for line in text.split("\n"))
    return _CONTROL.sub("", text)


# ----------------------------------------------------------------------------------------
# Memory cgroup (v1 where mounted, else a delegated v2 subtree)
# ----------------------------------------------------------------------------------------


class _MemoryCgroup:
    """A memory cgroup for one run, created under the checker's own cgroup (so the limits of
    whoever runs the checker still apply), or None where the platform does not allow one."""

    def __init__(self, path: Path, version: int) -> None:
        self.path, self.version = path, version

    @classmethod
    def create(cls, name: str, memory_mb: int) -> _MemoryCgroup | None:
        for finder in (cls._v1_parent, cls._v2_parent):
            found = finder()
            if found is None:
                continue
            parent, version = found
            path = parent / name
            try:
                path.mkdir()
            except OSError:
                continue
            group = cls(path, version)
            try:
                group._set_limit(memory_mb * 2**20)
                return group
            except OSError:
                group.remove()
        return None

    @staticmethod
    def _mounts(fstype: str) -> list[tuple[str, str]]:
        found = []
        try:
            with open("/proc/self/mountinfo") as fh:
                for line in fh:
                    left, _, right = line.partition(" - ")
                    fields, rfields = left.split(), right.split()
                    if rfields and rfields[0] == fstype:
                        found.append((fields[4], rfields[-1]))  # mount point, super options
        except OSError:
            pass
        return found

    @staticmethod
    def _own_path(controller: str | None) -> str | None:
        try:
            with open("/proc/self/cgroup") as fh:
                for line in fh:
                    _, controllers, path = line.rstrip("\n").split(":", 2)
                    if controller is None and controllers == "":
                        return path
                    if controller is not None and controller in controllers.split(","):
                        return path
        except (OSError, ValueError):
            pass
        return None

    @classmethod
    def _v1_parent(cls) -> tuple[Path, int] | None:
        for mount_point, options in cls._mounts("cgroup"):
            if "memory" in options.split(","):
                own = cls._own_path("memory")
                if own is not None:
                    parent = Path(mount_point + own)
                    if os.access(parent, os.W_OK):
                        return parent, 1
        return None

    @classmethod
    def _v2_parent(cls) -> tuple[Path, int] | None:
        for mount_point, _ in cls._mounts("cgroup2"):
            own = cls._own_path(None)
            if own is None:
                continue
            parent = Path(mount_point + own)
            try:
                delegated = (parent / "cgroup.subtree_control").read_text().split()
            except OSError:
                continue
            if "memory" in delegated and os.access(parent, os.W_OK):
                return parent, 2
        return None

    def _set_limit(self, limit: int) -> None:
        if self.version == 1:
            (self.path / "memory.limit_in_bytes").write_text(str(limit))
            swap = self.path / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(limit))
        else:
            (self.path / "memory.max").write_text(str(limit))
            swap = self.path / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")

    def _read(self, name: str) -> str:
        try:
            return (self.path / name).read_text()
        except OSError:
            return ""

    def peak_mb(self) -> float | None:
        raw = self._read("memory.max_usage_in_bytes" if self.version == 1 else "memory.peak").strip()
        return round(int(raw) / 2**20, 1) if raw.isdigit() else None

    def oom_killed(self) -> bool:
        text = self._read("memory.oom_control" if self.version == 1 else "memory.events")
        match = re.search(r"^oom_kill (\d+)", text, re.M)
        if match:
            return int(match.group(1)) > 0
        failcnt = self._read("memory.failcnt").strip()  # kernels without oom_kill counters
        return self.version == 1 and failcnt.isdigit() and int(failcnt) > 0

    def kill_all(self) -> None:
        for _ in range(20):
            pids = [int(p) for p in self._read("cgroup.procs").split() if p.isdigit()]
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)


# ----------------------------------------------------------------------------------------
# The launcher: runs in the child (`python -I -S sandbox.py --launch SPEC`), never in the
# checker. Everything below is stdlib and runs before any learner code.
# ----------------------------------------------------------------------------------------

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUTS = 0x04000000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_NOATIME, _MS_NODIRATIME, _MS_BIND = 32, 1024, 2048, 4096
_MS_REC, _MS_PRIVATE, _MS_RELATIME = 16384, 1 << 18, 1 << 21
_MNT_DETACH = 2
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
# statvfs flags that a bind remount must keep (the kernel refuses to clear "locked" flags
# inside a user namespace, and silently changing them elsewhere would be surprising).
_KEEP_FLAGS = (
    (os.ST_NOSUID, _MS_NOSUID),
    (os.ST_NODEV, _MS_NODEV),
    (os.ST_NOEXEC, _MS_NOEXEC),
    (os.ST_NOATIME, _MS_NOATIME),
    (os.ST_NODIRATIME, _MS_NODIRATIME),
    (getattr(os, "ST_RELATIME", 4096), _MS_RELATIME),
)


class _SetupError(Exception):
    pass


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise _SetupError(f"{what}: {os.strerror(err)} (errno {errno.errorcode.get(err, err)})")


def _launch(spec_path: str) -> None:
    """The launcher's main: namespaces, then fork the run's first process, then wait."""
    with open(spec_path) as fh:
        spec = json.load(fh)
    libc = _libc()
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the checker died: so do we
    if os.getppid() != spec["parent_pid"]:
        os._exit(_EXIT_SETUP)
    # Opened now: once the run pivots into its new root, the host path is gone for us too.
    status_fd = os.open(spec["status_path"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    warnings: list[str] = []
    facts: dict = {"memory": spec["memory"], "warnings": warnings}

    if spec["cgroup_procs"]:
        try:
            with open(spec["cgroup_procs"], "w") as fh:
                fh.write(str(os.getpid()))
        except OSError as exc:
            facts["memory"] = "none"
            warnings.append(f"could not join the memory cgroup ({exc}); memory is not limited")

    mode, why_not = _enter_namespaces(libc) if spec["namespaces"] else (None, "disabled by the caller")
    is_root = os.geteuid() == 0
    if mode is None:
        if spec["network_policy"] == "refuse":
            _write_status(status_fd, {
                "refused": "this platform cannot give the run its own network namespace "
                f"({why_not}); set [retrain] network = \"warn\" to run without network isolation",
                "isolation": facts,
            })
            os._exit(_EXIT_REFUSED)
        warnings.append(
            f"NO NETWORK ISOLATION: no namespaces ({why_not}); the run could reach the network, "
            "see the files of the user it runs as, and leave processes behind outside its group"
        )
    facts.update(network=mode is not None, filesystem=mode is not None, processes=mode is not None)

    uid = spec["uid"]
    # Inside a user namespace only our own id is mapped, so there is nothing to switch to.
    drop_uid = is_root and uid is not None and (
        mode == "root" or (mode is None and spec["reachable_by_others"])
    )
    if drop_uid:
        facts["user"], facts["process_limit"] = f"uid {uid}", True
    elif mode == "user":
        facts["user"] = "user namespace"
        facts["process_limit"] = not is_root
    else:
        facts["user"] = "unchanged"
        facts["process_limit"] = not is_root
    if not facts["process_limit"]:
        warnings.append("the process limit does not apply: the run keeps root's user id "
                        "(the interpreter or the run's folders are not reachable by an unprivileged "
                        "user without a new root)")
    elif not is_root and mode != "user":
        warnings.append("the process limit counts all processes of the checker's user, not only this run's")
    if spec["gpu_requested"]:
        facts["gpu"] = bool(spec["devices"])
        if not spec["devices"]:
            warnings.append("a GPU was requested but none is present; the run uses the CPU")
        if facts["memory"].startswith("none"):
            warnings.append("memory is not limited: a GPU run cannot have an address-space limit "
                            "and no memory cgroup could be created")

    ready_r, ready_w = os.pipe()  # close-on-exec: EOF without data means the exec succeeded
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        stage = "setup"
        try:
            stage = _prepare_child(libc, spec, mode, drop_uid)
            argv = spec["argv"]
            os.execvpe(argv[0], argv, spec["env"])
        except BaseException as exc:  # noqa: BLE001 - report anything, then die
            message = f"{stage}: {exc}" if stage not in str(exc) else str(exc)
            if isinstance(exc, FileNotFoundError) and stage == "exec":
                message = f"command not found: {spec['argv'][0]}"
            os.write(ready_w, message.encode("utf-8", "replace")[:4000])
            os._exit(_EXIT_SETUP)
    os.close(ready_w)
    setup_error = b""
    while chunk := os.read(ready_r, 4096):
        setup_error += chunk
    os.close(ready_r)
    status = {"isolation": facts, "setup_error": setup_error.decode("utf-8", "replace") or None}
    _write_status(status_fd, status)
    while True:
        try:
            _, wait_status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            wait_status = 0
            break
    code = os.waitstatus_to_exitcode(wait_status)
    status.update(exit_code=code if code >= 0 else None, signal=-code if code < 0 else None)
    _write_status(status_fd, status)
    os._exit(code if code >= 0 else 128 - code)


def _write_status(fd: int, status: dict) -> None:
    data = json.dumps(status).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _enter_namespaces(libc) -> tuple[str | None, str]:
    """'root' (namespaces made as root), 'user' (inside a new user namespace), or None + why."""
    flags = _CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWPID | _CLONE_NEWIPC | _CLONE_NEWUTS
    if os.geteuid() == 0 and libc.unshare(flags) == 0:
        return "root", ""
    first_error = os.strerror(ctypes.get_errno())
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(flags | _CLONE_NEWUSER) != 0:
        return None, f"unshare: {os.strerror(ctypes.get_errno())}"
    try:
        with open("/proc/self/setgroups", "w") as fh:
            fh.write("deny")
        with open("/proc/self/uid_map", "w") as fh:
            fh.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as fh:
            fh.write(f"{gid} {gid} 1")
    except OSError as exc:
        # We are in a user namespace without a mapping: nothing useful can run here.
        raise SystemExit(f"user namespace without an id mapping: {exc} (after {first_error})")
    return "user", ""


def _prepare_child(libc, spec: dict, mode: str | None, drop_uid: bool) -> str:
    """In the run's first process: new root, loopback, identity, limits. Returns the last
    stage name (so a failure says where it happened)."""
    if mode is not None:
        _build_root(libc, spec)
        _loopback_up()
        libc.sethostname(b"sandbox", 7)
    else:
        for source, target, _ in spec["mounts"]:  # no mount namespace: symlinks will do
            if source != target and not os.path.lexists(target):
                os.symlink(source, target)
    if drop_uid:
        uid = spec["uid"]
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    # After the uid change (which clears it): the launcher died, so does the run.
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    import resource

    for name, value in spec["rlimits"].items():
        limit = resource.RLIM_INFINITY if value is None else value
        resource.setrlimit(getattr(resource, name), (limit, limit))
    os.chdir(spec["cwd"])
    os.umask(0o022)
    return "exec"


def _build_root(libc, spec: dict) -> None:
    """A new root for the run: a tmpfs holding a private /tmp, read-only binds of the system,
    /dev and /proc, then the run's folders and the caller's mounts (parents first, so a data
    folder inside the scratch copy lands on top of it); then pivot_root into it and forget the
    old root. /tmp comes first: the run's own folders and often the task's data live under the
    host's /tmp, and a tmpfs mounted later would hide them."""
    newroot = spec["newroot"]
    _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make / private")
    _check(libc.mount(b"tmpfs", newroot.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV,
                      b"mode=0755,size=16m"), "mount the new root")
    tmp = newroot + "/tmp"
    os.makedirs(tmp, exist_ok=True)
    size = f"size={spec['tmp_mb']}m,mode=1777".encode()
    _check(libc.mount(b"tmpfs", tmp.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, size), "mount /tmp")
    for path in spec["system"]:
        if os.path.islink(path) and os.path.dirname(path) == "/":
            os.symlink(os.readlink(path), newroot + path)  # /bin -> usr/bin
        else:
            _bind(libc, path, newroot + path, readonly=True)
    _build_dev(libc, newroot, spec)
    os.makedirs(newroot + "/proc", exist_ok=True)
    _check(libc.mount(b"proc", (newroot + "/proc").encode(), b"proc",
                      _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None), "mount /proc")
    for source, target, writable in sorted(spec["mounts"], key=lambda m: m[1].rstrip("/").count("/")):
        _bind(libc, source, newroot + target, readonly=not writable)
    os.chdir(newroot)
    number = _SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is not None:
        _check(libc.syscall(number, b".", b"."), "pivot_root")
        _check(libc.umount2(b".", _MNT_DETACH), "detach the old root")
    else:  # other architectures: chroot; the run has no capability left to climb out
        os.chroot(".")
    os.chdir("/")
    libc.mount(None, b"/", None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, None)


def _bind(libc, source: str, target: str, *, readonly: bool) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "a").close()
    _check(libc.mount(source.encode(), target.encode(), None, _MS_BIND | _MS_REC, None), f"bind {source}")
    if readonly:
        for mount_point in _mounts_under(target):
            flags = _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV
            vfs = os.statvfs(mount_point).f_flag
            flags |= sum(ms for st, ms in _KEEP_FLAGS if vfs & st and ms not in (_MS_NOSUID, _MS_NODEV))
            _check(libc.mount(None, mount_point.encode(), None, flags, None), f"make {source} read-only")


def _mounts_under(target: str) -> list[str]:
    """`target` and every mount below it (a recursive bind brings submounts, which a remount
    of the top one does not make read-only)."""
    found = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == target or point.startswith(target.rstrip("/") + "/"):
                found.append(point)
    return found or [target]


def _build_dev(libc, newroot: str, spec: dict) -> None:
    dev = newroot + "/dev"
    os.makedirs(dev, exist_ok=True)
    _check(libc.mount(b"tmpfs", dev.encode(), b"tmpfs", _MS_NOSUID | _MS_NOEXEC, b"mode=0755,size=64k"),
           "mount /dev")
    for name in _DEVICES:
        if os.path.exists("/dev/" + name):
            open(f"{dev}/{name}", "a").close()
            _check(libc.mount(f"/dev/{name}".encode(), f"{dev}/{name}".encode(), None, _MS_BIND, None),
                   f"bind /dev/{name}")
    for device in spec["devices"]:  # NVIDIA device nodes, only when a GPU was requested
        target = newroot + device
        if os.path.isdir(device):
            os.makedirs(target, exist_ok=True)
        else:
            open(target, "a").close()
        _check(libc.mount(device.encode(), target.encode(), None, _MS_BIND | _MS_REC, None), f"bind {device}")
    for name, points_to in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                            ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(points_to, f"{dev}/{name}")
    os.makedirs(dev + "/shm")
    size = f"size={spec['tmp_mb']}m,mode=1777".encode()
    _check(libc.mount(b"tmpfs", (dev + "/shm").encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, size),
           "mount /dev/shm")


def _loopback_up() -> None:
    """Bring up `lo` inside the new network namespace: code that talks to itself over
    127.0.0.1 (multiprocessing managers, torch.distributed on one host) works; nothing else."""
    import fcntl
    import socket
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sH22x", b"lo", flags | iff_up))


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--launch":
    _launch(sys.argv[2])
