"""Where student code runs: a kernel in its own folder, with resource limits, and -- when
the grader runs as root -- as an unprivileged user that owns nothing else.

Three pieces:

- :class:`SandboxKernelManager`, a Jupyter kernel manager that nbgrader's ``Execute``
  uses (``Execute.kernel_manager_class``). It starts the kernel through this module's
  launcher, in the sandbox folder, with a scrubbed environment.
- :mod:`regcourse.sandbox.launch`, the launcher (``python -m regcourse.sandbox.launch ...
  -- KERNEL CMD``): sets the resource limits, drops to the sandbox user, then ``exec``s
  the kernel. It lives outside this package so that it starts in milliseconds.
- :class:`Slot`, one of a pool of sandbox users. A grader holds a slot (a file lock)
  while it grades, so that killing "every process of the slot's user" afterwards cannot
  touch another grader's kernels.

The kernel talks to the grader over IPC sockets (files in its sandbox folder), never
over TCP. As root it also runs in a network namespace of its own, where the only
interface is a loopback that is down: it can open no connection to anything, on this
machine or elsewhere.

Without root there are no users to switch to and no namespaces to enter: the kernel then
runs as the grader's own user, still in its own folder and with the same limits, with the
network of that user, and left-over processes are found by a marker in their
environment. That is enough for a learner grading their own notebook; a class should be
graded as root (see the README).
"""

from __future__ import annotations

import fcntl
import functools
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, Unicode, default

from .launch import KEPT_ENV, MARKER, ONE_THREAD, all_pids, drop_to, is_zombie, kill_all, uid_of
from .host import POOL_SIZE, USER_PREFIX, ensure_user, is_root, private_folder, python_folders


def _lock_dir() -> Path:
    """Where the slots' locks live: one pool per machine for root's sandbox users, in a
    folder of root's that no other user can create first (never in /tmp, where another user
    could plant the folder or a link in it); a grader without root (an instructor on a hub,
    say) has a private pool of its own."""
    if os.environ.get("REGCOURSE_LOCK_DIR"):
        return Path(os.environ["REGCOURSE_LOCK_DIR"])
    if os.geteuid() == 0:
        return Path("/run/regcourse")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return Path(runtime) / "regcourse" if runtime else Path.home() / ".cache" / "regcourse" / "locks"


LOCK_DIR = _lock_dir()
# Folders every user may write: what a sandbox user leaves there is removed after each grading.
SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one kernel."""

    memory_bytes: int = 4 << 30      # address space: a memory bomb gets MemoryError
    processes: int = 256             # tasks (processes and threads) of the sandbox user
    file_bytes: int = 256 << 20      # largest file the kernel may write
    cell_seconds: int = 30           # per cell (nbgrader's Execute.timeout), and the cap of:
    time_factor: float = 100.0       # a test cell: this many times its reference time (naive loops
                                     # over samples take about 30 times the reference's),
    min_seconds: float = 2.0         # but at least this many seconds in a forked kernel, whose
                                     # factory paid the one-time costs (imports, a first optimizer
                                     # step) before any cell, and at least
    cold_min_seconds: float = 10.0   # this many in a kernel started cold: a cell there can pay a
                                     # one-time cost (a first torch.optim) the reference paid elsewhere
    submission_seconds: int = 300    # wall clock for the whole submission
    output_bytes: int = 1 << 20      # printed output kept per cell


class Slot:
    """A sandbox user (as root) or a marker token (otherwise), held under a file lock."""

    def __init__(self, index: int, lock_file, user: pwd.struct_passwd | None):
        self.index = index
        self._lock_file = lock_file
        self.user = user
        self.token = secrets.token_hex(8)

    @classmethod
    def acquire(cls, timeout: float = 600.0) -> "Slot":
        private_folder(LOCK_DIR)
        deadline = time.monotonic() + timeout
        while True:
            for index in range(POOL_SIZE):
                handle = open_private(LOCK_DIR / f"slot-{index}.lock")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    continue
                user = ensure_user(f"{USER_PREFIX}{index}") if is_root() else None
                slot = cls(index, handle, user)
                if user is not None:
                    slot.kill_processes()   # what a grader killed with -9 left running as this user
                return slot
            if time.monotonic() > deadline:
                raise TimeoutError(f"all {POOL_SIZE} grading sandboxes stayed busy for {timeout:.0f} s")
            time.sleep(0.2)

    def release(self) -> None:
        self.kill_processes()
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()

    def __enter__(self) -> "Slot":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def prepare_folder(self, folder: Path) -> Path:
        """An empty folder that the sandbox (and, as root, only the sandbox) can write."""
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        if self.user is not None:
            blocked = [str(p) for p in folder.resolve().parents if not p.stat().st_mode & 0o001]
            if blocked:
                raise RuntimeError(f"the sandbox user cannot reach {folder}: {', '.join(blocked)} "
                                   "cannot be entered by other users")
            os.chown(folder, self.user.pw_uid, self.user.pw_gid)
            folder.chmod(0o700)
        return folder

    def isolation(self, for_class: bool = False) -> str:
        """What the kernel of this slot can reach, in one sentence for the feedback footer;
        ``for_class``: graded by an instructor for a class, not by the learner."""
        if self.user is not None:
            return ("Your code ran as an unprivileged user that owns nothing else, in an empty folder, "
                    "with no network at all and with limits on memory, processes, file size and output.")
        grader = pwd.getpwuid(os.getuid()).pw_name
        if for_class:   # an instructor's autograde without root (or a classroom without its sudo rule)
            return (f"Your code ran as the grader's user ({grader}), in an empty folder, with limits on memory, "
                    "processes, file size and output, but with that user's network and files within reach: "
                    "this class was graded without root (the README's classroom section says how to grade "
                    "with it).")
        return ("Your code ran as your own user, in an empty folder, with limits on memory, processes, "
                "file size and output. It kept your network and could read your files: without root the "
                "grader cannot take them away (an instructor grading a class runs it as root).")

    def kill_processes(self) -> int:
        """Kill every process the sandbox left behind; returns how many were killed."""
        killed = kill_all(self._owns)
        if self.user is not None:
            self._wait_until_reaped()
        return killed

    def _wait_until_reaped(self, seconds: float = 10.0) -> None:
        """Wait (at most ``seconds``) until no process of the sandbox user exists, zombies
        included: until reaped they still count against the user's process limit, and the
        next submission graded in this slot runs as the same user (after a fork bomb, its
        first fork would fail)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not any(uid_of(pid) == self.user.pw_uid for pid in all_pids()):
                return
            time.sleep(0.02)

    def remove_leftovers(self) -> list[str]:
        """As root, remove what the sandbox user left in the folders every user may write
        (/tmp, /var/tmp, /dev/shm): the next submission graded in this slot runs as the same
        user and would find it. Returns the names removed."""
        if self.user is None:
            return []   # without root the kernel's files cannot be told from the grader's own
        removed = []
        for top in SHARED_FOLDERS:
            try:
                entries = list(os.scandir(top))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.stat(follow_symlinks=False).st_uid != self.user.pw_uid:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)
                    removed.append(entry.path)
                except OSError:
                    pass
        return removed

    def _owns(self, pid: int) -> bool:
        if pid == os.getpid() or is_zombie(pid):   # a zombie has ended; its parent reaps it
            return False
        try:
            if self.user is not None:
                return uid_of(pid) == self.user.pw_uid
            with open(f"/proc/{pid}/environ", "rb") as f:
                return f"{MARKER}={self.token}".encode() in f.read().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return False


def open_private(path: Path):
    """A lock file in a private folder, opened without following a link."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, "r+")


def check_user_can_run_python(user: pwd.struct_passwd, python: str = sys.executable) -> None:
    """Fail with a clear message when the sandbox user cannot start this Python.

    A typical cause: Python lives under a folder such as /root that other users cannot
    enter. ``regcourse sandbox setup`` (run as root) makes the folders on the way to the
    interpreter and to this package searchable (o+x), without making them readable.
    """
    probe = [python, "-c", "import numpy, torch, ipykernel, regcourse"]
    result = subprocess.run(probe, capture_output=True, text=True, cwd="/", env=sandbox_env("/tmp", ""),
                            preexec_fn=functools.partial(drop_to, user), timeout=120)
    if result.returncode != 0:
        blocked = [str(p) for p in _ancestors_needing_search()]
        why = (result.stderr.strip()[-300:] if result.returncode > 0
               else f"killed by signal {-result.returncode} (another process stopped it)")
        raise RuntimeError(
            f"the sandbox user {user.pw_name} cannot run {python}: {why}\n"
            + (f"folders other users cannot enter: {', '.join(blocked)}\n" if blocked else "")
            + "as root, run `.venv/bin/regcourse sandbox setup` once to fix it")


def _ancestors_needing_search() -> list[Path]:
    """Folders on the way to this Python and this package that others cannot enter."""
    return [folder for folder in python_folders() if not folder.stat().st_mode & 0o001]


def exposed(path: Path) -> bool:
    """True when a user who is neither the owner nor in the group can reach ``path``."""
    path = Path(path).resolve()
    if not path.exists():
        return False
    if path.is_file() and not path.stat().st_mode & 0o004:
        return False
    return all(folder.stat().st_mode & 0o001 for folder in [path if path.is_dir() else path.parent,
                                                             *path.parents])


def require_private(*paths: Path) -> None:
    """As root, refuse to grade while the sandbox users could read ``paths``."""
    if not is_root():
        return
    open_paths = [str(p) for p in paths if exposed(p)]
    if open_paths:
        raise RuntimeError(
            "kernels would be able to read " + ", ".join(open_paths) + " (hidden tests, solutions or "
            "grades): make them private first, for example `chmod o-rwx " + " ".join(open_paths) + "`")


def sandbox_env(folder: str, token: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
    env.update(HOME=folder, TMPDIR=folder, MPLCONFIGDIR=folder, IPYTHONDIR=str(Path(folder) / ".ipython"),
               JUPYTER_RUNTIME_DIR=folder, PYTHONNOUSERSITE="1", MPLBACKEND="Agg", **ONE_THREAD)
    if token:
        env[MARKER] = token
    return env


# -- the kernel manager nbgrader's Execute uses -------------------------------------------

class SandboxKernelClient(AsyncKernelClient):
    """jupyter_client's client, ready as soon as its kernel is."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Until the kernel answers ``kernel_info`` on shell and IOPub. jupyter_client's own
        wait then listens to IOPub until it has been quiet for 0.2 s, an idle pause in every
        grading; here only what has arrived is dropped. A late message does no harm: the
        execution step reads only the messages that answer its own requests."""
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:   # its IOPub messages reach us: the subscription is in place
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while await self.iopub_channel.msg_ready():
            await self.iopub_channel.get_msg()


class SandboxKernelManager(AsyncKernelManager):
    """Starts the kernel in ``sandbox_dir`` through the sandbox launcher."""

    sandbox_dir = Unicode("", help="folder the kernel runs in (its cwd, HOME and TMPDIR)").tag(config=True)
    sandbox_user = Unicode("", help="user to run the kernel as (root only); empty: unchanged").tag(config=True)
    sandbox_token = Unicode("", help="marker that identifies the kernel's processes").tag(config=True)
    memory_bytes = Integer(Limits.memory_bytes).tag(config=True)
    processes = Integer(Limits.processes).tag(config=True)
    file_bytes = Integer(Limits.file_bytes).tag(config=True)
    no_network = Bool(False, help="run the kernel in a network namespace of its own (root only)").tag(config=True)
    factory = Unicode("", help="socket of a warm kernel factory; empty: start the kernel cold").tag(config=True)

    @default("transport")
    def _default_transport(self):
        return "ipc"   # sockets are files in the sandbox: no TCP port for anyone to reach

    @default("client_factory")
    def _default_client_factory(self):
        return SandboxKernelClient

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        # jupyter_client looks every 0.1 s whether a killed kernel is gone: nearly every
        # grading waited a whole interval for a kernel gone within milliseconds
        await super()._async_wait(pollinterval=0.005)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        launcher = [sys.executable, "-m", "regcourse.sandbox.launch", "--dir", self.sandbox_dir,
                    "--memory", str(self.memory_bytes), "--processes", str(self.processes),
                    "--file-size", str(self.file_bytes)]
        if self.sandbox_user:
            launcher += ["--user", self.sandbox_user]
        if self.no_network:
            launcher += ["--no-network"]
        return launcher + ["--"] + cmd

    async def _async_pre_start_kernel(self, **kw):
        if not self.sandbox_dir:
            raise RuntimeError("SandboxKernelManager.sandbox_dir is not set")
        if self.transport == "ipc":
            self.ip = os.path.join(self.sandbox_dir, "ipc")
            if len(self.ip) > 90:   # a socket's path must fit in 108 bytes, with "-<port>" added
                raise RuntimeError(f"the sandbox folder's path is too long for IPC sockets: {self.sandbox_dir}")
        kw["cwd"] = self.sandbox_dir
        kw["env"] = sandbox_env(self.sandbox_dir, self.sandbox_token)
        if self.factory and self.provisioner is None:
            from .provisioner import ForkedProvisioner

            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkedProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                 parent=self, factory=self.factory)
        return await super()._async_pre_start_kernel(**kw)
