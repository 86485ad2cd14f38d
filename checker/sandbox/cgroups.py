"""A memory cgroup for one sandboxed run: v1 where its memory controller is mounted, else a
delegated v2 subtree; None where the platform allows neither (the run then gets RLIMIT_AS).

Created by the checker before the run starts; the launcher joins it (it writes its own pid to
`cgroup.procs`, named in the run's spec); the checker reads the peak and the OOM kills after the
run, kills whatever is left in it and removes it.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path


class MemoryCgroup:
    """A memory cgroup for one run, created under the checker's own cgroup (so the limits of
    whoever runs the checker still apply), or None where the platform does not allow one."""

    def __init__(self, path: Path, version: int) -> None:
        self.path, self.version = path, version

    @classmethod
    def create(cls, name: str, memory_mb: int) -> MemoryCgroup | None:
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

