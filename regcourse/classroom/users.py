"""The classroom's Unix users: created with their Jupyter settings (students see nbgrader's
Assignments panel, the instructor also its Formgrader), the instructor's course folder,
and their removal with every process they left.
"""

from __future__ import annotations

import json
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .. import REPO
from ..sandbox import host

VENV = Path(sys.prefix)
COURSE_ID = "regcourse"
RUNUSER = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser"
STUDENT_HIDDEN = ["formgrader", "course_list", "create_assignment"]   # server extensions
LAB_PLUGINS = {"formgrader": "formgrader", "course_list": "course-list", "create_assignment": "create-assignment"}


def run(*command, user: str | None = None, cwd: Path | None = None, env: dict | None = None,
        timeout: float | None = None) -> str:
    if user:
        command = (RUNUSER, "-u", user, "--", *command)
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def user_env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "PATH": f"{VENV / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8"}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def role_config(home: Path, user: str, exchange: Path, instructor: bool, formgrader_tab: bool) -> None:
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


def course_folder(home: Path, user: str, exchange: Path, db_url: str, assignments: list[str],
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
    run("chown", "-R", f"{user}:{user}", home)
    course.chmod(0o700)   # the grader refuses sources that other users (and kernels) could read
    env = user_env(home)
    for aid in assignments:
        run(VENV / "bin" / "nbgrader", "generate_assignment", "--force", aid, user=user, cwd=course, env=env)
        run(VENV / "bin" / "nbgrader", "release_assignment", "--force", aid, user=user, cwd=course, env=env)


def remove_user(user: str, say, seconds: float = 30) -> None:
    """Kill the user's processes and delete the user with their home. userdel refuses while
    a process of the user exists (one just killed may not have been reaped yet): retry."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            uid = pwd.getpwnam(user).pw_uid
        except KeyError:
            break
        host.kill_processes_of(uid)
        done = subprocess.run(["userdel", "--remove", user], capture_output=True, text=True)
        if done.returncode == 0:
            say(f"regcourse classroom: removed user {user}")
            break
        if time.monotonic() > deadline:
            say(f"regcourse classroom: could not remove user {user}: {done.stderr.strip()}")
            break
        time.sleep(0.5)
    subprocess.run(["groupdel", user], capture_output=True)
