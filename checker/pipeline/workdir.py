"""The scan's temporary work folder (extracted zips), removed however the run ends.

An exception, Ctrl-C (KeyboardInterrupt) or a crashed worker process unwinds through the `with`
and the folder goes. SIGTERM and SIGHUP (a `timeout`, a closed terminal, a job scheduler) would
kill the process without unwinding, so while the folder exists they raise SystemExit in the
process that made it instead. A run killed outright (SIGKILL, out of memory, a crash of the
interpreter) cannot clean up: its folder holds a lock file that the kernel unlocks when the
process is gone, and the next run removes folders whose lock it can take.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock, no sweeping; the `with` still cleans up
    fcntl = None

PREFIX = "noshortcut-"
_LOCK = ".noshortcut-scan.lock"  # the name only a folder of a running (or dead) scan holds


@contextlib.contextmanager
def work_dir() -> Iterator[Path]:
    """A new temporary folder for one scan, removed when the block ends, however it ends."""
    sweep_stale()
    lock = None
    try:
        with tempfile.TemporaryDirectory(prefix=PREFIX) as work:
            lock = _hold_lock(Path(work))
            with _signals_exit():
                yield Path(work)
    finally:  # unlocked only once removed: a sweeper never races the removal
        if lock is not None:
            os.close(lock)


def _hold_lock(folder: Path) -> int | None:
    """Lock a file in `folder` for as long as this process lives. Written under another name and
    renamed once locked, so a sweeper never sees the lock file unlocked while this run is alive."""
    if fcntl is None:
        return None
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".lock-")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(tmp, folder / _LOCK)
    except OSError:
        os.close(fd)
        return None
    return fd


def sweep_stale(temp_root: Path | None = None) -> list[Path]:
    """Remove work folders of scans that died without cleaning up (their lock is free); returns
    the folders removed. Folders of other users, links and folders without our lock file (other
    tools, or the sandbox's `noshortcut-run-*`) are never touched."""
    if fcntl is None:
        return []
    root = Path(temp_root or tempfile.gettempdir())
    removed: list[Path] = []
    try:
        candidates = list(root.glob(PREFIX + "*"))
    except OSError:
        return removed
    for folder in candidates:
        try:
            if folder.is_symlink() or not folder.is_dir() or folder.stat().st_uid != os.getuid():
                continue
            fd = os.open(folder / _LOCK, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # held: that scan is running
        finally:
            os.close(fd)  # closing drops our lock too
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


class _Terminated(SystemExit):
    """SIGTERM or SIGHUP, raised so that `with` blocks unwind."""


@contextlib.contextmanager
def _signals_exit() -> Iterator[None]:
    """SIGTERM and SIGHUP raise SystemExit(128 + signal) in this process for the block (only
    where they would have killed it: in the main thread, with no handler of the caller's).
    Forked workers inherit the handler; there it does what the signal would have done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def handler(signum, frame):
        if os.getpid() != owner:  # a forked worker: die as the signal says
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise _Terminated(128 + signum)

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
