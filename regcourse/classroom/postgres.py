"""A PostgreSQL server of the classroom's own for the gradebook (``--db postgresql``):
Debian's server binaries, run by its ``postgres`` user on a data folder inside the
classroom's folder, on a free port of 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

from .state import State, free_ports
from .users import RUNUSER, run

PG_BIN = Path("/usr/lib/postgresql")


def tool(name: str) -> Path:
    found = sorted(PG_BIN.glob(f"*/bin/{name}"))
    if not found:
        raise SystemExit("PostgreSQL's server is not installed (Debian: apt-get install postgresql)")
    return found[-1]


def start(state: State, say) -> str:
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
        run(tool("initdb"), "-D", data, "-A", "scram-sha-256", f"--pwfile={secret}", "-U", "postgres",
             user="postgres", cwd=data)
    finally:
        secret.unlink()
    run(tool("pg_ctl"), "-D", data, "-l", data / "server.log", "-w", "start", "-o",
         f"-p {port} -k {data} -c listen_addresses=127.0.0.1", user="postgres", cwd=data)
    env = {"PGPASSWORD": password, "PATH": "/usr/bin:/bin"}
    psql = [tool("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
    course_password = secrets.token_urlsafe(12)
    run(*psql, "-c", f"CREATE ROLE regcourse LOGIN PASSWORD '{course_password}'", env=env)
    run(*psql, "-c", "CREATE DATABASE regcourse OWNER regcourse", env=env)
    say(f"regcourse classroom: PostgreSQL {data} on 127.0.0.1:{port}, database and role regcourse")
    return f"postgresql+psycopg://regcourse:{course_password}@127.0.0.1:{port}/regcourse"


def stop(data: Path) -> None:
    if (data / "postmaster.pid").exists():
        subprocess.run([RUNUSER, "-u", "postgres", "--", str(tool("pg_ctl")), "-D", str(data), "-m", "fast",
                        "-w", "stop"], capture_output=True, cwd="/")
