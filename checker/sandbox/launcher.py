"""The sandbox's launcher: runs in the child, never in the checker, before any learner code.

The checker (`checker.sandbox.run`) starts it BY PATH as `python -I -S -B launcher.py --launch
SPEC`, with SPEC a JSON file of what the run gets. That is why this file imports nothing but the
standard library, and nothing of `checker`: `-I -S` gives it no site-packages and no package
path. It calls unshare(2) through ctypes, forks the first process of the new pid namespace, which
builds the new root, pivots into it, drops to the sandbox uid, sets the limits and execs the
command; the launcher itself waits and writes the run's status (which isolation it had, the exit
code or signal) to the status file named in SPEC.

Why not bubblewrap: util-linux and the kernel are everywhere the checker runs; bubblewrap would be
one more system package, and its `--uid` only maps ids inside a user namespace, which does not
make RLIMIT_NPROC count this run alone when the checker is root. When the checker is not root,
the launcher asks for an unprivileged user namespace instead.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import sys

# Exit codes of the launcher itself (the command's own codes pass through unchanged).
_EXIT_REFUSED = 3
_EXIT_SETUP = 125

_DEVICES = ("null", "zero", "full", "random", "urandom")  # bound into the run's /dev

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
