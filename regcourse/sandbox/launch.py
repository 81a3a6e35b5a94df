"""The kernel launcher of the grading sandbox (see :mod:`regcourse.sandbox.slots`).

``python -m regcourse.sandbox.launch --dir D --memory B --processes N --file-size B
[--user U] [--no-network] -- KERNEL COMMAND`` sets the resource limits, hands the kernel
its own copy of the connection file, enters a network namespace of its own (with
``--no-network``, as root), drops to the sandbox user (when started as root) and
``exec``s the kernel in the sandbox folder. Standard library only: it runs before every
kernel. The warm kernel factory (:mod:`regcourse.sandbox.kernel_factory`) runs the same steps in
a forked child, which then becomes the kernel instead of ``exec``-ing it.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import resource
import signal
import time
from pathlib import Path

# One thread per kernel: the exercises' arrays and models are tiny, and kernels graded side
# by side (with the reference run) would otherwise oversubscribe the cores, where OpenMP's
# busy waiting makes a 0.5 s cell take 10 s. It also makes every grading compute alike, and
# lets the warm kernel factory import torch without starting a thread pool before it forks.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
# The environment variable whose value marks a sandbox's processes (found by it without root).
MARKER = "REGCOURSE_SANDBOX_TOKEN"
# Environment variables a kernel keeps; everything else (the grader's own settings,
# NBGRADER_EXECUTION, tokens) is dropped.
KEPT_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PYTHONHASHSEED")


def main(argv: list[str] | None = None, become=None) -> None:
    """Set up the sandbox, then ``exec`` the kernel command (or ``become(command)``)."""
    parser = argparse.ArgumentParser(prog="python -m regcourse.sandbox.launch")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--memory", type=int, required=True)
    parser.add_argument("--processes", type=int, required=True)
    parser.add_argument("--file-size", type=int, required=True)
    parser.add_argument("--user", default="")
    parser.add_argument("--no-network", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    folder = Path(args.dir)

    user = pwd.getpwnam(args.user) if args.user else None
    if user is not None:
        # The connection file lives in the grader's private runtime folder: hand the
        # kernel its own copy, which is all it needs to reach the grader.
        for i, arg in enumerate(command):
            if arg == "-f" and i + 1 < len(command):
                copy = folder / "kernel-connection.json"
                copy.write_text(json.dumps(json.loads(Path(command[i + 1]).read_text())))
                os.chown(copy, user.pw_uid, user.pw_gid)
                copy.chmod(0o600)
                command[i + 1] = str(copy)

    resource.setrlimit(resource.RLIMIT_AS, (args.memory, args.memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (args.file_size, args.file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if args.no_network:
        leave_the_network()
    if user is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (args.processes, args.processes))
        drop_to(user)
    else:
        # RLIMIT_NPROC counts every process of the user: leave room for what already runs
        mine = sum(1 for pid in all_pids() if uid_of(pid) == os.getuid())
        limit = mine + args.processes
        resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    os.chdir(folder)
    os.umask(0o077)
    if become is not None:
        become(command)
        return
    os.execvp(command[0], command)


# -- process helpers, shared with regcourse.sandbox.slots ------------------------------

def drop_to(user: pwd.struct_passwd) -> None:
    """Become ``user`` for good: no supplementary groups, its group, its uid."""
    os.setgroups([])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)


CLONE_NEWNET = 0x40000000


def leave_the_network() -> None:
    """Move this process into a new network namespace: only a loopback interface, which is
    down, so every connection fails (ENETUNREACH). Needs root (CAP_SYS_ADMIN)."""
    if hasattr(os, "unshare"):   # Python 3.12+
        os.unshare(os.CLONE_NEWNET)
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"cannot leave the network (unshare): {os.strerror(error)}")


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def uid_of(pid: int) -> int | None:
    """The owner of process ``pid``, or None once it is gone."""
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except FileNotFoundError:
        return None


def is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def is_running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended; while no one
    has reaped it, its pid is not given to another process)."""
    return os.path.exists(f"/proc/{pid}") and not is_zombie(pid)


def kill_all(owned) -> int:
    """SIGKILL every process for which ``owned(pid)`` holds, again and again until none is
    left (a fork bomb respawns while it is killed); returns how many were killed."""
    killed = 0
    for _ in range(50):
        victims = [pid for pid in all_pids() if owned(pid)]
        if not victims:
            break
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    return killed


if __name__ == "__main__":
    main()
