"""The sandbox's value types: what a run may use, and what it got.

`SandboxLimits` and `Mount` go in; a `RunOutcome` comes out: `RunOk | RunFailed | RunTimeout |
RunRefused`, each with the run's log (`CapturedLog`, its first and last bytes) and the
`Isolation` it actually had (every missing protection named in `Isolation.warnings`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

NETWORK_POLICIES = ("refuse", "warn")


@dataclass(frozen=True)
class SandboxLimits:
    """What one run may use. The sizes have no defaults here on purpose: each caller takes
    them from its own settings (the retrain stage: `[retrain]` and `checker.defaults`)."""

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
