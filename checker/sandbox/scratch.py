"""Scratch folders: a private copy of a submission for its runs, what the runs add to it on disk,
and reading what they leave behind without trusting it.

A run never sees the original folder: `prepare_scratch` copies it (links as links, special files
skipped, the size checked first) into a new folder that holds the run's working copy, its output
folder and its TMPDIR, so that everything the run writes counts in its disk budget
(`disk_usage`, measured by the watchdog in `checker.sandbox.run`) and goes with `cleanup`.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class ScratchRefused(Exception):
    """The submission cannot be copied into a scratch folder (too large, missing); says why."""


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
