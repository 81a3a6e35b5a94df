"""A local classroom: JupyterHub on 127.0.0.1 with one instructor and N students, the
course's assignments released through nbgrader's exchange (``make classroom``).

``up`` (as root) changes the machine, and writes each change into the classroom's state
file as it makes it, so that ``down`` undoes exactly those, whatever state ``up`` reached:

- Unix users ``rc-<tag>-teach`` and ``rc-<tag>-s1..sN``, their homes inside the state
  folder (the hub's single-user servers run as them: LocalProcessSpawner);
- the grading sandbox's users and folder permissions (:mod:`regcourse.sandbox.host`),
  when they were not there before;
- the exchange folder (sticky, world-writable, as nbgrader documents), the instructor's
  course folder, the hub's database, cookie secret, logs and pid files, all inside the
  state folder;
- three processes: the hub, its proxy (configurable-http-proxy from the npm registry,
  installed into ``.venv/chp`` by ``make setup``), and the servers the hub spawns.

Roles. Students see nbgrader's Assignments panel and Validate button; the instructor also
sees Formgrader, Course List and Create Assignment. The formgrader opens inside JupyterLab,
which needs the instructor's server to allow framing by its own origin
(``frame-ancestors 'self'``, nbgrader's documented setting): on one host, the students'
servers share that origin, so a student's page could frame the instructor's formgrader.
For a real class, serve each user from their own subdomain (``JupyterHub.subdomain_host``)
or drop that header (``--formgrader-tab``): the formgrader's panel in JupyterLab then stays
blank, and the instructor opens ``/user/<instructor>/formgrader`` in a tab of its own.

Authentication. By default each user gets a password of their own, printed once by
``up``; the hub keeps only their salted hashes (:mod:`regcourse.classroom.passwords`). A real
class may instead set ``--authenticator pam`` (the machine's accounts and passwords) or an
OAuth authenticator (for example ``oauthenticator.GitHubOAuthenticator``, installed beside
the hub).

Secrets. Everything only the hub may read (this state, its configuration with the
gradebook's address and password, its database and cookie secret, the password hashes,
its log) lives in ``<folder>/state``, root's and 0700, its files 0600. The rest of the
folder must be reachable by the users: their homes, the exchange, PostgreSQL's data.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from .. import REPO
from ..authoring.notebooks import assignment_ids, notebook_in
from ..sandbox import host
from . import postgres, sudo, users
from .state import State, free_ports, write_private
from .users import VENV

CHP = VENV / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
STATE = REPO / ".classroom"
PASSWORDS = "passwords.json"


def _hub_config(state: State, ports: list[int], authenticator: str) -> str:
    port, hub_port, api_port = ports
    users = [state.instructor, *state.students]
    lines = [
        "c = get_config()",
        "c.JupyterHub.ip = '127.0.0.1'",
        f"c.JupyterHub.port = {port}",
        "c.JupyterHub.hub_ip = '127.0.0.1'",
        f"c.JupyterHub.hub_port = {hub_port}",
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{api_port}'",
        f"c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]",
        f"c.JupyterHub.db_url = 'sqlite:///{state.private}/jupyterhub.sqlite'",
        f"c.JupyterHub.cookie_secret_file = '{state.private}/jupyterhub_cookie_secret'",
        f"c.JupyterHub.pid_file = '{state.private}/jupyterhub.pid'",
        f"c.ConfigurableHTTPProxy.pid_file = '{state.private}/proxy.pid'",
        "c.JupyterHub.cleanup_servers = True",
        "c.JupyterHub.cleanup_proxy = True",
        "c.JupyterHub.spawner_class = 'localprocess'",
        f"c.Spawner.cmd = [{str(VENV / 'bin' / 'jupyterhub-singleuser')!r}]",
        f"c.Spawner.environment = {{'PATH': {str(VENV / 'bin') + ':/usr/bin:/bin'!r}, 'LANG': 'C.UTF-8'}}",
        "c.Spawner.default_url = '/lab'",
        # a class signing in together starts its servers together: 35 on 2 cores were all up
        # after 93 s (benchmarks/classroom.py), and a limit of 90 s failed some of them
        "c.Spawner.http_timeout = 300",
        "c.Spawner.start_timeout = 300",
        f"c.Authenticator.allowed_users = {set(users)!r}",
    ]
    if authenticator == "passwords":   # a password of its own for each user
        lines += ["c.JupyterHub.authenticator_class = 'regcourse.classroom.passwords.ClassroomAuthenticator'",
                  f"c.ClassroomAuthenticator.password_file = '{state.private / PASSWORDS}'"]
    else:
        lines.append(f"c.JupyterHub.authenticator_class = {authenticator!r}")
    return "\n".join(lines) + "\n"


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {seconds:g} s")


def up(folder: Path = STATE, students: int = 2, port: int | None = None, db: str = "sqlite",
       authenticator: str = "passwords", formgrader_tab: bool = False, assignments: list[str] | None = None,
       source: Path = REPO / "solutions", say=print) -> State:
    """Bring a classroom up in ``folder``; on any failure, undo what was done and raise."""
    if os.geteuid() != 0:
        raise SystemExit("make classroom creates Unix users for the instructor and the students: run it as root")
    if not CHP.exists():
        raise SystemExit(f"configurable-http-proxy is missing at {CHP}: `make setup` installs it with npm")
    folder = Path(folder).resolve()
    if State.load(folder):
        raise SystemExit(f"a classroom already runs from {folder}: `make classroom-down` first")
    closed = [p for p in folder.parents if p.exists() and not p.stat().st_mode & 0o001]
    if closed:
        raise SystemExit(f"the users' servers could not reach {folder}: {closed[0]} is closed to other users")
    folder.mkdir(parents=True, exist_ok=True)
    info = os.lstat(folder)
    if info.st_uid != 0 or os.path.islink(folder):
        raise SystemExit(f"{folder} must be root's own folder (another user could move what the classroom keeps there)")
    folder.chmod(0o755)   # the users reach their homes and the exchange through it
    tag = secrets.token_hex(2)
    assignments = assignments or assignment_ids(source)
    missing = [aid for aid in assignments if not notebook_in(source, aid).exists()]
    if missing:
        raise SystemExit(f"{source} has no source notebook for {', '.join(missing)}")
    if db not in ("sqlite", "postgresql"):
        raise SystemExit(f"--db is sqlite or postgresql, not {db!r}")
    state = State(str(folder), tag)
    state.instructor = f"rc-{tag}-teach"
    state.students = [f"rc-{tag}-s{k}" for k in range(1, students + 1)]
    host.private_folder(state.private)
    state.save()
    try:
        start = time.monotonic()
        record = state.private / "host-changes.json"
        state.host_record = str(record)
        state.save()
        for line in host.setup(protect=[REPO / "solutions", REPO / ".git"], reachable=host.python_folders(),
                               record=record):
            say(f"regcourse classroom: {line}")
        exchange = folder / "exchange"
        exchange.mkdir(exist_ok=True)
        exchange.chmod(0o1777)
        (folder / "home").mkdir(exist_ok=True)
        (folder / "home").chmod(0o755)
        for user in [state.instructor, *state.students]:
            home = folder / "home" / user
            users.run("useradd", "--create-home", "--home-dir", home, "--shell", "/bin/bash", "--user-group", user)
            state.users.append(user)
            state.save()
            say(f"regcourse classroom: created user {user}")
            users.role_config(home, user, exchange, user == state.instructor, formgrader_tab)
            users.run("chown", "-R", f"{user}:{user}", home)
        if db == "postgresql":
            state.db_url = postgres.start(state, say)
            state.save()
        users.course_folder(folder / "home" / state.instructor, state.instructor, exchange, state.db_url,
                       assignments, Path(source))
        state.sudo_rule = sudo.install_rule(state, say)
        state.save()
        if authenticator == "passwords":
            from . import passwords

            state.passwords = {user: secrets.token_urlsafe(12) for user in [state.instructor, *state.students]}
            passwords.write(state.private / PASSWORDS, state.passwords)
        ports = port and [port, *free_ports(2)] or free_ports(3)
        state.ports = ports + state.ports      # the hub's, then PostgreSQL's
        state.url = f"http://127.0.0.1:{ports[0]}/"
        config = state.private / "jupyterhub_config.py"
        write_private(config, _hub_config(state, ports, authenticator))
        log = os.fdopen(os.open(state.private / "hub.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW,
                                0o600), "ab")
        hub = subprocess.Popen([VENV / "bin" / "jupyterhub", "-f", config], cwd=state.private,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, "PATH": f"{VENV / 'bin'}:{os.environ.get('PATH', '')}"})
        state.hub_pid = hub.pid
        state.save()
        _wait_for(state.url + "hub/api", 60)
        say(f"regcourse classroom: the hub answers at {state.url} ({time.monotonic() - start:.0f} s)")
        return state
    except BaseException:
        down(folder, say=say)
        raise


def _kill_group(pid: int, seconds: float) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def down(folder: Path = STATE, say=print) -> bool:
    """Stop everything the classroom in ``folder`` started and remove what it created.
    Idempotent: without a classroom there, it says so and changes nothing."""
    folder = Path(folder).resolve()
    state = State.load(folder)
    if state is None:
        say(f"regcourse classroom: no classroom runs from {folder}")
        return False
    if state.hub_pid:
        _kill_group(state.hub_pid, 15)   # the hub stops the proxy and the users' servers
        say("regcourse classroom: stopped the hub")
    for user in reversed(state.users):
        users.remove_user(user, say)
    if state.postgres:
        postgres.stop(Path(state.postgres))
        say("regcourse classroom: stopped PostgreSQL")
    if state.sudo_rule and Path(state.sudo_rule).exists():
        Path(state.sudo_rule).unlink()
        say(f"regcourse classroom: removed {state.sudo_rule}")
    if state.host_record and Path(state.host_record).exists():
        for line in host.remove(Path(state.host_record)):
            say(f"regcourse classroom: {line}")
    shutil.rmtree(folder, ignore_errors=True)
    return True




def sign_in_lines(state: State) -> str:
    """Who signs in, with which password: said once, when the classroom comes up (only
    hashes are kept)."""
    lines = []
    for user in [state.instructor, *state.students]:
        role = "instructor" if user == state.instructor else "student"
        password = state.passwords.get(user, "(the authenticator's own)")
        lines.append(f"  {role:<10} {user:<16} password {password}")
    return "\n".join(lines)


def serve(folder: Path = STATE, **options) -> int:
    """``make classroom``: bring it up, print how to log in, wait; Ctrl-C takes it down."""
    # Ctrl-C (and a plain `kill`) take it down, even when whatever started this process
    # ignored SIGINT, which a child inherits (a script's background job, a test runner).
    # Set before anything is up: a Ctrl-C while `up` runs makes it undo what it did.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    state = up(folder, **options)
    print(f"\nThe classroom is at {state.url}\n{sign_in_lines(state)}\n"
          f"After an autograde, what the class got wrong: "
          f"{state.url}user/{state.instructor}/files/course/reports/<assignment>.html\n"
          "Ctrl-C (or `make classroom-down` from another terminal) stops it and removes its users.\n",
          flush=True)
    try:
        while State.load(Path(folder)):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        down(folder, say=lambda line: print(line, flush=True))   # seen at once, even through a pipe
    return 0
