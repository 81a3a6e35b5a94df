"""nbgrader's autograde, done by the course's grader: what the formgrader's "autograde"
button runs in a classroom (and ``nbgrader autograde`` in that course folder).

nbgrader's Autograde converter runs a list of preprocessors over each submitted notebook;
its ``Execute`` step runs the student's code with the instructor's rights. The course
folder's configuration puts :class:`CourseGrading` in its place (see
:func:`autograde_preprocessors`). It grades the submission with ``regcourse hub-grade``
(sandbox, trusted checks, tampering detection) and hands nbgrader back the notebook that
grading produced, with the course's report as its first cell and an error output in every
test cell the course scored 0, so that nbgrader's own ``SaveAutoGrades`` records exactly
the course's scores (a notebook test that passed but failed the independent check, or a
submission that attacked the grader, loses its points in the gradebook too).

Isolation. When the instructor may run ``regcourse hub-grade`` as root through the one
sudo rule that ``regcourse classroom up`` writes, kernels run as the unprivileged sandbox
users, without network. Without it, the grading runs as the
instructor: the same checks, but the student's code runs with the instructor's rights,
and the report's last line says so.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.coursedir import CourseDirectory

from ..authoring.notebooks import nbgrader_meta
from .class_report import keep_result, write_report
from .report import Result

REGCOURSE = Path(sys.prefix) / "bin" / "regcourse"
HOOK = "regcourse.grading.nbgrader_hook.CourseGrading"


def autograde_preprocessors() -> list[str]:
    """nbgrader's autograde steps with its Execute replaced by the course's grading."""
    from .execute import autograde_steps

    return autograde_steps([HOOK])


@functools.lru_cache(maxsize=None)
def _may_sudo() -> bool:
    """Whether the classroom's sudo rule lets this user grade as root (never asks for a
    password)."""
    sudo = shutil.which("sudo")
    if not sudo:
        return False
    done = subprocess.run([sudo, "-n", "-l", str(REGCOURSE), "hub-grade", "x", "--course", "x"],
                          capture_output=True, text=True)
    return done.returncode == 0


IDLE_SECONDS = 60   # a grader nobody asked for this long ends (the formgrader's server lives on)


def _sources_stamp(course: Path, assignment: str) -> tuple:
    """When the assignment's sources last changed: a grader started before grades with old ones."""
    folder = course / "source" / assignment
    return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()))


class _Server:
    """One ``regcourse hub-grade`` for every notebook of ``assignment`` this process
    autogrades: nbgrader autogrades a class one notebook after another in one process, and
    a grader of its own for each paid its start, reference run and kernel factory each time.
    It ends when its input does: when this process closes it or dies, after IDLE_SECONDS
    without a notebook (the formgrader runs autograde inside the instructor's server), and
    before grading with sources that changed since it started."""

    def __init__(self, assignment: str, course: Path, as_root: bool):
        command = [str(REGCOURSE), "hub-grade", assignment, "--course", str(course)]
        self.as_root = as_root
        self.sources = _sources_stamp(course, assignment)
        self.lock = threading.Lock()    # one notebook at a time on the one pipe
        self.closed = False
        self.idle: threading.Timer | None = None
        self.errors = tempfile.TemporaryFile(mode="w+")   # read only when it fails
        self.process = subprocess.Popen(["sudo", "-n", *command] if as_root else command, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors)

    def grade(self, nb) -> dict | None:
        """The answer for ``nb``; None when this grader was closed first (start another)."""
        with self.lock:
            if self.closed:
                return None
            if self.idle:
                self.idle.cancel()
            try:
                self.process.stdin.write(json.dumps({"notebook": nbformat.writes(nb)}) + "\n")
                self.process.stdin.flush()
                line = self.process.stdout.readline()
            except BrokenPipeError:
                line = ""
            if not line:
                self._close()
                self.errors.seek(0)
                raise RuntimeError(f"the course's grader failed{' (as root)' if self.as_root else ''} "
                                   f"(exit {self.process.returncode}):\n{self.errors.read()[-3000:]}")
            self.idle = threading.Timer(IDLE_SECONDS, self.close)
            self.idle.daemon = True
            self.idle.start()
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the course's grader could not grade this notebook: {answer['error']}")
        return answer

    def close(self) -> None:
        with self.lock:
            self._close()

    def _close(self) -> None:
        self.closed = True
        if self.idle:
            self.idle.cancel()
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:   # (as root it cannot be killed from here: it ends at EOF)
            self.process.kill()
            self.process.wait()


_SERVERS: dict[tuple, _Server] = {}


@atexit.register
def _close_servers() -> None:
    while _SERVERS:
        _SERVERS.popitem()[1].close()


def grade(nb, assignment: str, course: Path, as_root: bool) -> tuple[Result, object]:
    """Grade ``nb`` with ``regcourse hub-grade`` (as root through the classroom's sudo rule
    when ``as_root``): the course's result and its graded notebook. The grader stays for the
    next notebook of the same assignment and course."""
    key = (assignment, str(course), as_root)
    answer = None
    while answer is None:
        server = _SERVERS.get(key)
        if (server is None or server.closed or server.process.poll() is not None
                or server.sources != _sources_stamp(course, assignment)):
            if server is not None:
                server.close()
            server = _SERVERS[key] = _Server(assignment, course, as_root)
        answer = server.grade(nb)
    return Result.from_json(answer["result"]), nbformat.reads(answer["notebook"], as_version=4)


class CourseGrading(NbGraderPreprocessor):
    """Grade with ``regcourse hub-grade`` and return its executed notebook (see the module)."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        result, executed = grade(nb, info["assignment"], Path(coursedir.root), as_root=_may_sudo())
        self.log.info("regcourse graded %s's %s: %g / %g (%s)", info["student"], info["assignment"],
                      result.score, result.max_score, result.isolation)
        result.student = info["student"]   # the grader saw only the notebook, under a neutral name
        try:   # the class report (course/reports/<assignment>.html) follows each grading
            keep_result(Path(coursedir.root), result)
            write_report(Path(coursedir.root), info["assignment"])
        except Exception as exc:  # noqa: BLE001 -- a report that fails must not fail the grading
            self.log.warning("regcourse could not update the class report: %s", exc)
        return with_course_scores(executed, result), resources


def with_course_scores(nb, result: Result):
    """``nb`` with an error output in each test cell the course scored 0 and none in the
    others, so that nbgrader's SaveAutoGrades gives the course's points."""
    items = {i.grade_id: i for i in result.items}
    for cell in nb.cells:
        item = items.get(nbgrader_meta(cell).get("grade_id"))
        if cell.cell_type != "code" or item is None or item.pending:
            continue
        outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"]
        if item.score < item.max_score:
            message = f"{item.verdict}: {item.message}" if item.message else item.verdict
            outputs.append(nbformat.v4.new_output("error", ename="CourseGrading", evalue=message,
                                                  traceback=[message]))
        cell.outputs = outputs
    return nb
