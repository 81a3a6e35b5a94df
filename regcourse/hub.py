"""A local classroom: JupyterHub on 127.0.0.1 with one instructor and N students, the
course's assignments released through nbgrader's exchange (``make classroom``).

``up`` (as root) changes the machine, and writes each change into the classroom's state
file as it makes it, so that ``down`` undoes exactly those, whatever state ``up`` reached:

- Unix users ``rc-<tag>-teach`` and ``rc-<tag>-s1..sN``, their homes inside the state
  folder (the hub's single-user servers run as them: LocalProcessSpawner);
- the grading sandbox's users and folder permissions (:mod:`regcourse.grading.host`),
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
``up``; the hub keeps only their salted hashes (:mod:`regcourse.hub_passwords`). A real
class may instead set ``--authenticator pam`` (the machine's accounts and passwords) or an
OAuth authenticator (for example ``oauthenticator.GitHubOAuthenticator``, installed beside
the hub).

Secrets. Everything only the hub may read (this state, its configuration with the
gradebook's address and password, its database and cookie secret, the password hashes,
its log) lives in ``<folder>/state``, root's and 0700, its files 0600. The rest of the
folder must be reachable by the users: their homes, the exchange, PostgreSQL's data.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .notebooks import REPO

VENV = Path(sys.prefix)
CHP = VENV / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
COURSE_ID = "regcourse"
STATE = REPO / ".classroom"
ASSIGNMENTS = ["warmup", "l2", "l1", "weight_decay", "dropout"]
RUNUSER = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser"
STUDENT_HIDDEN = ["formgrader", "course_list", "create_assignment"]   # server extensions
LAB_PLUGINS = {"formgrader": "formgrader", "course_list": "course-list", "create_assignment": "create-assignment"}


@dataclass
class State:
    """What one classroom created: enough for ``down`` to undo all of it."""

    folder: str
    tag: str
    url: str = ""
    instructor: str = ""
    students: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)       # created, in order
    passwords: dict[str, str] = field(default_factory=dict, repr=False)   # printed once, never saved
    hub_pid: int = 0
    ports: list[int] = field(default_factory=list)
    host_record: str = ""
    db_url: str = ""
    sudo_rule: str = ""
    postgres: str = ""        # the data folder of the classroom's own PostgreSQL server

    @property
    def private(self) -> Path:
        """The folder of what only root reads (see the module)."""
        return Path(self.folder) / "state"

    @property
    def path(self) -> Path:
        return self.private / "classroom.json"

    def save(self) -> None:
        saved = {k: v for k, v in asdict(self).items() if k != "passwords"}
        write_private(self.path, json.dumps(saved, indent=1) + "\n")

    @classmethod
    def load(cls, folder: Path) -> "State | None":
        path = Path(folder) / "state" / "classroom.json"
        return cls(**json.loads(path.read_text())) if path.exists() else None


def write_private(path: Path, text: str) -> None:
    """``text`` into ``path`` (0600), replaced whole, never through a link."""
    draft = path.with_name(f".{path.name}.new")
    if os.path.lexists(draft):
        os.unlink(draft)
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(draft, path)


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _run(*command, user: str | None = None, cwd: Path | None = None, env: dict | None = None) -> str:
    if user:
        command = (RUNUSER, "-u", user, "--", *command)
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=cwd, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def _user_env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "PATH": f"{VENV / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8"}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _role_config(home: Path, user: str, exchange: Path, instructor: bool, formgrader_tab: bool) -> None:
    """nbgrader's and JupyterLab's settings in the user's ~/.jupyter."""
    course = home / "course"
    lines = ["c = get_config()", f"c.CourseDirectory.course_id = {COURSE_ID!r}", f"c.Exchange.root = {str(exchange)!r}"]
    if instructor:
        lines.append(f"c.CourseDirectory.root = {str(course)!r}")
    _write(home / ".jupyter" / "nbgrader_config.py", "\n".join(lines) + "\n")
    extensions = {f"nbgrader.server_extensions.{name}": instructor for name in STUDENT_HIDDEN}
    server: dict = {"ServerApp": {"jpserver_extensions": extensions}}
    if instructor and not formgrader_tab:
        server["ServerApp"]["tornado_settings"] = {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}
    _write(home / ".jupyter" / "jupyter_server_config.json", json.dumps(server, indent=1))
    disabled = {f"@jupyter/nbgrader:{plugin}": True for plugin in LAB_PLUGINS.values()} if not instructor else {}
    disabled["@jupyterlab/apputils-extension:announcements"] = True   # the news pop-up
    _write(home / ".jupyter" / "labconfig" / "page_config.json", json.dumps({"disabledExtensions": disabled}))


def _course_folder(home: Path, user: str, exchange: Path, db_url: str, assignments: list[str],
                   source: Path) -> None:
    """The instructor's nbgrader course: the course's own configuration, the source
    notebooks copied from ``source`` (solutions/, or a private folder), each assignment
    generated and released."""
    course = home / "course"
    config = [
        "c = get_config()",
        "# the course's own settings (preprocessors, feedback), then this classroom's paths",
        f"load_subconfig({str(REPO / 'nbgrader_config.py')!r})",
        f"c.CourseDirectory.root = {str(course)!r}",
        'c.CourseDirectory.source_directory = "source"',
        'c.CourseDirectory.release_directory = "release"',
        f"c.Exchange.root = {str(exchange)!r}",
        "# autograde (the formgrader's button too) through the course's sandboxed grader",
        "from regcourse.grading.nbgrader_hook import autograde_preprocessors",
        "c.Autograde.autograde_preprocessors = autograde_preprocessors()",
    ]
    if db_url:
        config.append(f"c.CourseDirectory.db_url = {db_url!r}")
    _write(course / "nbgrader_config.py", "\n".join(config) + "\n")
    for aid in assignments:
        shutil.copytree(source / aid, course / "source" / aid)
    _run("chown", "-R", f"{user}:{user}", home)
    course.chmod(0o700)   # the grader refuses sources that other users (and kernels) could read
    env = _user_env(home)
    for aid in assignments:
        _run(VENV / "bin" / "nbgrader", "generate_assignment", "--force", aid, user=user, cwd=course, env=env)
        _run(VENV / "bin" / "nbgrader", "release_assignment", "--force", aid, user=user, cwd=course, env=env)


PG_BIN = Path("/usr/lib/postgresql")
SUDOERS = Path("/etc/sudoers.d")
PASSWORDS = "passwords.json"


def _pg_tool(name: str) -> Path:
    found = sorted(PG_BIN.glob(f"*/bin/{name}"))
    if not found:
        raise SystemExit("PostgreSQL's server is not installed (Debian: apt-get install postgresql)")
    return found[-1]


def _start_postgres(state: State, say) -> str:
    """Debian's PostgreSQL, run by its ``postgres`` user on a data folder of the classroom's
    own, on a free port of 127.0.0.1; a role and a database for the course. Returns the
    gradebook's ``db_url``."""
    data = Path(state.folder) / "postgres"
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")
    state.postgres = str(data)
    state.save()
    password = secrets.token_urlsafe(12)
    (port,) = free_ports(1)
    state.ports.append(port)
    state.save()
    secret = Path(state.folder) / "postgres.pw"     # initdb reads the superuser's password from a file
    with os.fdopen(os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "w") as f:
        f.write(password + "\n")
    shutil.chown(secret, "postgres", "postgres")
    try:
        _run(_pg_tool("initdb"), "-D", data, "-A", "scram-sha-256", f"--pwfile={secret}", "-U", "postgres",
             user="postgres", cwd=data)
    finally:
        secret.unlink()
    _run(_pg_tool("pg_ctl"), "-D", data, "-l", data / "server.log", "-w", "start", "-o",
         f"-p {port} -k {data} -c listen_addresses=127.0.0.1", user="postgres", cwd=data)
    env = {"PGPASSWORD": password, "PATH": "/usr/bin:/bin"}
    psql = [_pg_tool("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
    course_password = secrets.token_urlsafe(12)
    _run(*psql, "-c", f"CREATE ROLE regcourse LOGIN PASSWORD '{course_password}'", env=env)
    _run(*psql, "-c", "CREATE DATABASE regcourse OWNER regcourse", env=env)
    say(f"regcourse classroom: PostgreSQL {data} on 127.0.0.1:{port}, database and role regcourse")
    return f"postgresql+psycopg://regcourse:{course_password}@127.0.0.1:{port}/regcourse"


def _stop_postgres(data: Path) -> None:
    if (data / "postmaster.pid").exists():
        subprocess.run([RUNUSER, "-u", "postgres", "--", str(_pg_tool("pg_ctl")), "-D", str(data), "-m", "fast",
                        "-w", "stop"], capture_output=True, cwd="/")


def _sudo_rule(state: State, say) -> str:
    """Let the instructor grade as root with exactly one command, ``regcourse hub-grade``,
    so that the formgrader's autograde runs kernels as the sandbox users (see
    :mod:`regcourse.grading.nbgrader_hook`). Without sudo, grading runs as the instructor."""
    sudo, visudo = shutil.which("sudo"), shutil.which("visudo", path="/usr/sbin:/sbin:/usr/bin")
    if not sudo or not visudo:
        say("regcourse classroom: sudo is not installed: autograde will run kernels as the instructor")
        return ""
    rule = SUDOERS / f"regcourse-classroom-{state.tag}"
    # written under a name sudo ignores (it skips names with a dot), checked, then moved
    # into place: sudo never reads a rule visudo has not accepted
    fd, draft = tempfile.mkstemp(prefix=".regcourse-", dir=SUDOERS)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(f"# written by regcourse classroom up; removed by regcourse classroom down\n"
                    f"{state.instructor} ALL=(root) NOPASSWD: {VENV / 'bin' / 'regcourse'} hub-grade *\n")
        os.chmod(draft, 0o440)
        checked = subprocess.run([visudo, "-cf", draft], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(f"visudo rejected the classroom's sudo rule: {checked.stdout}{checked.stderr}")
        os.rename(draft, rule)
    finally:
        if os.path.lexists(draft):
            os.unlink(draft)
    say(f"regcourse classroom: {rule}: {state.instructor} may run `regcourse hub-grade` as root")
    return str(rule)


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
        "c.Spawner.http_timeout = 60",
        "c.Spawner.start_timeout = 90",
        f"c.Authenticator.allowed_users = {set(users)!r}",
    ]
    if authenticator == "passwords":   # a password of its own for each user
        lines += ["c.JupyterHub.authenticator_class = 'regcourse.hub_passwords.ClassroomAuthenticator'",
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
    from .grading import host

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
    missing = [aid for aid in assignments or ASSIGNMENTS if not (Path(source) / aid / f"{aid}.ipynb").exists()]
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
            _run("useradd", "--create-home", "--home-dir", home, "--shell", "/bin/bash", "--user-group", user)
            state.users.append(user)
            state.save()
            say(f"regcourse classroom: created user {user}")
            _role_config(home, user, exchange, user == state.instructor, formgrader_tab)
            _run("chown", "-R", f"{user}:{user}", home)
        if db == "postgresql":
            state.db_url = _start_postgres(state, say)
            state.save()
        _course_folder(folder / "home" / state.instructor, state.instructor, exchange, state.db_url,
                       assignments or ASSIGNMENTS, Path(source))
        state.sudo_rule = _sudo_rule(state, say)
        state.save()
        if authenticator == "passwords":
            from . import hub_passwords

            state.passwords = {user: secrets.token_urlsafe(12) for user in [state.instructor, *state.students]}
            hub_passwords.write(state.private / PASSWORDS, state.passwords)
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
    from .grading import host

    folder = Path(folder).resolve()
    state = State.load(folder)
    if state is None:
        say(f"regcourse classroom: no classroom runs from {folder}")
        return False
    if state.hub_pid:
        _kill_group(state.hub_pid, 15)   # the hub stops the proxy and the users' servers
        say("regcourse classroom: stopped the hub")
    for user in reversed(state.users):
        _remove_user(user, say)
    if state.postgres:
        _stop_postgres(Path(state.postgres))
        say("regcourse classroom: stopped PostgreSQL")
    if state.sudo_rule and Path(state.sudo_rule).exists():
        Path(state.sudo_rule).unlink()
        say(f"regcourse classroom: removed {state.sudo_rule}")
    if state.host_record and Path(state.host_record).exists():
        for line in host.remove(Path(state.host_record)):
            say(f"regcourse classroom: {line}")
    shutil.rmtree(folder, ignore_errors=True)
    return True


def _remove_user(user: str, say, seconds: float = 30) -> None:
    """Kill the user's processes and delete the user with their home. userdel refuses while
    a process of the user exists (one just killed may not have been reaped yet): retry."""
    from .grading import host

    deadline = time.monotonic() + seconds
    while True:
        try:
            uid = pwd.getpwnam(user).pw_uid
        except KeyError:
            break
        host._kill_processes_of(uid)
        done = subprocess.run(["userdel", "--remove", user], capture_output=True, text=True)
        if done.returncode == 0:
            say(f"regcourse classroom: removed user {user}")
            break
        if time.monotonic() > deadline:
            say(f"regcourse classroom: could not remove user {user}: {done.stderr.strip()}")
            break
        time.sleep(0.5)
    subprocess.run(["groupdel", user], capture_output=True)


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
