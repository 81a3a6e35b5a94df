"""What the grading sandbox changes on the machine, and how to undo it (root only).

Grading as root runs every kernel as one of the unprivileged users
``regcourse-sandbox-0..15``. Preparing that changes the machine in three ways, each
said in one line when it happens, each done at most once, each undone by
``regcourse sandbox remove``:

- it creates the sandbox users (system users without a home or a login shell);
- it lets other users *enter* (``o+x``, not list) the folders on the way to the Python
  installation, which may live in a private home such as ``/root``;
- it makes the folders the kernels must not read private (``o-rwx``): the solutions
  and the repository's history.

Every change is recorded, with the mode it replaced, in :data:`STATE_FILE`, so that
``remove`` puts back exactly what was there. ``setup --record FILE`` also writes the
changes of that one run into FILE, and ``remove --record FILE`` undoes only those:
``make test`` uses the pair to leave the machine as it found it, without touching a
sandbox an instructor had set up before.
"""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

from .launch import kill_all, uid_of

USER_PREFIX = "regcourse-sandbox-"
POOL_SIZE = 16
STATE_FILE = Path(os.environ.get("REGCOURSE_SANDBOX_STATE", "/var/lib/regcourse/sandbox-changes.json"))


def is_root() -> bool:
    return os.geteuid() == 0


def private_folder(folder: Path) -> Path:
    """``folder``, created 0700 if missing; refused unless it is a folder (not a link) of
    this user's that no one else can write or read."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise RuntimeError(f"{folder} must be a folder of your own that only you can use (mode 0700, not a "
                           "link); another user may have made it: remove it and grade again")
    return folder


# -- the record of changes ----------------------------------------------------------------

def _load(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        data = {}
    return {"users": list(data.get("users", [])), "modes": dict(data.get("modes", {}))}


def _save(path: Path, state: dict) -> None:
    path = Path(path)
    if not state["users"] and not state["modes"]:
        path.unlink(missing_ok=True)
        if path.parent.name == "regcourse":
            try:
                path.parent.rmdir()   # the folder this module made, once empty
            except OSError:
                pass
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    tmp.replace(path)


def _remember(run: dict | None, users=(), modes=None) -> None:
    """Add changes to the machine's record (keeping the first original mode) and to ``run``."""
    state = _load(STATE_FILE)
    for record in [state] + ([run] if run is not None else []):
        record["users"] += [u for u in users if u not in record["users"]]
        for path, mode in (modes or {}).items():
            record["modes"].setdefault(path, mode)
    _save(STATE_FILE, state)


# -- changes ----------------------------------------------------------------------------------

def ensure_user(name: str, run: dict | None = None, said: list[str] | None = None) -> pwd.struct_passwd:
    """The system user ``name``, created (no home, no login shell) if it does not exist."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    result = subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                             "--shell", "/usr/sbin/nologin", "--user-group", name],
                            capture_output=True, text=True)
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise RuntimeError(f"could not create the sandbox user {name}: {result.stderr.strip()}")
    _remember(run, users=[name])
    if said is not None:
        said.append(f"created user {name} (system user, no home, no login shell)")
    return pwd.getpwnam(name)


def _chmod(path: Path, mode: int, why: str, run: dict, said: list[str]) -> None:
    before = stat_mode(path)
    if before == mode:
        return
    _remember(run, modes={str(path): before})
    path.chmod(mode)
    said.append(f"chmod {oct(before)[2:]} -> {oct(mode)[2:]} on {path}: {why}")


def stat_mode(path: Path) -> int:
    return Path(path).stat().st_mode & 0o7777


def setup(protect: list[Path], reachable: list[Path], record: Path | None = None) -> list[str]:
    """Create the users, open the folders in ``reachable`` for searching, close the paths in
    ``protect``; one line per change made (none when everything was in place already)."""
    if not is_root():
        raise PermissionError("sandbox setup needs root: without root, kernels run as your own user")
    run = _load(record) if record else {"users": [], "modes": {}}
    said: list[str] = []
    for index in range(POOL_SIZE):
        ensure_user(f"{USER_PREFIX}{index}", run, said)
    for folder in reachable:
        _chmod(folder, stat_mode(folder) | 0o001,
               "other users may enter it (not list it) to reach the Python installation", run, said)
    for path in protect:
        if Path(path).exists():
            _chmod(Path(path), stat_mode(path) & ~0o007, "grading kernels must not read it", run, said)
    if record:
        _save(Path(record), run)
    return said


def remove(record: Path | None = None) -> list[str]:
    """Undo the changes in ``record`` (one run's), or every change recorded on this machine
    and every sandbox user; one line per change undone."""
    if not is_root():
        raise PermissionError("sandbox remove needs root")
    state = _load(STATE_FILE)
    undo = _load(record) if record else state
    users = list(undo["users"])
    if record is None:   # also users created before changes were recorded
        users += [u.pw_name for u in pwd.getpwall() if u.pw_name.startswith(USER_PREFIX) and u.pw_name not in users]
    said = []
    for name in users:
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        kill_processes_of(uid)
        result = subprocess.run(["userdel", name], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"could not remove the sandbox user {name}: {result.stderr.strip()}")
        said.append(f"removed user {name}")
    for path, mode in sorted(undo["modes"].items(), key=lambda item: -len(item[0])):
        if Path(path).exists() and stat_mode(Path(path)) != mode:
            Path(path).chmod(mode)
            said.append(f"chmod {oct(mode)[2:]} on {path} (as it was before)")
    state["users"] = [u for u in state["users"] if u not in users]
    state["modes"] = {p: m for p, m in state["modes"].items() if p not in undo["modes"]}
    _save(STATE_FILE, state)
    if record:
        Path(record).unlink(missing_ok=True)
    return said


def not_ready(protect: list[Path]) -> str:
    """As root, why grading cannot run its kernels as the sandbox users yet ('' when it can):
    what ``setup`` would change, in one phrase."""
    if not is_root():
        return ""
    missing = [f"{USER_PREFIX}{i}" for i in range(POOL_SIZE) if not _user_exists(f"{USER_PREFIX}{i}")]
    closed = [str(f) for f in python_folders() if not stat_mode(f) & 0o001]
    exposed = [str(p) for p in protect if Path(p).exists() and stat_mode(Path(p)) & 0o007]
    reasons = ((["the sandbox users do not exist"] if missing else [])
               + ([f"they cannot enter {', '.join(closed)}"] if closed else [])
               + ([f"they could read {', '.join(exposed)}"] if exposed else []))
    return "; ".join(reasons)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def kill_processes_of(uid: int) -> int:
    """Kill every process of the user ``uid``; returns how many were killed."""
    return kill_all(lambda pid: uid_of(pid) == uid)


def python_folders() -> list[Path]:
    """The folders on the way to this Python and to this package (real paths included)."""
    import regcourse

    targets = {Path(sys.executable), Path(sys.executable).resolve(), Path(regcourse.__file__).resolve().parent,
               Path(sys.prefix), Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    folders = set()
    for target in targets:
        folders |= {folder for folder in [target, *target.parents] if folder.is_dir()}
    return sorted(folders)
