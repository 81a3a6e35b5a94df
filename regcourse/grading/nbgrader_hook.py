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

A class. ``nbgrader autograde <assignment>`` grades the class one notebook after another
in one process: one ``hub-grade`` serves them all (:class:`_Server`), and a second grades
the class from its far end meanwhile (:class:`_Ahead`), so that both cores work.

Isolation. When the instructor may run ``regcourse hub-grade`` as root through the one
sudo rule that ``regcourse classroom up`` writes, kernels run as the unprivileged sandbox
users, without network. Without it, the grading runs as the
instructor: the same checks, but the student's code runs with the instructor's rights,
and the report's last line says so.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import re
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
    """nbgrader's autograde steps with its Execute replaced by the course's grading (the
    course folder's configuration calls this as nbgrader loads it)."""
    from .course import check_metadata_schema_once
    from .execute import autograde_steps

    # nbgrader's own passes here check each cell's metadata (twice per submission, and
    # once more when graded ahead): its schema need not be checked again every time
    check_metadata_schema_once()
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

    def grade(self, notebook: str) -> dict | None:
        """The answer for the notebook (its JSON text); None when this grader was closed
        first (start another)."""
        with self.lock:
            if self.closed:
                return None
            if self.idle:
                self.idle.cancel()
            try:
                self.process.stdin.write(json.dumps({"notebook": notebook}) + "\n")
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
_AHEAD: dict[tuple, "_Ahead"] = {}
# (course folder, assignment) whose class report waits for the end of nbgrader's run
_REPORTS_DUE: set[tuple[str, str]] = set()


@atexit.register
def _close_servers() -> None:
    while _AHEAD:
        _AHEAD.popitem()[1].stop()
    while _SERVERS:
        _SERVERS.popitem()[1].close()
    while _REPORTS_DUE:   # a run that ended before its last notebook reached the hook
        root, assignment = _REPORTS_DUE.pop()
        try:
            write_report(Path(root), assignment)
        except Exception:  # noqa: BLE001 -- `regcourse report` writes it again from the results kept
            pass


def grade(nb, assignment: str, course: Path, as_root: bool, ahead: "_Ahead | None" = None) -> tuple[Result, object]:
    """Grade ``nb`` with ``regcourse hub-grade`` (as root through the classroom's sudo rule
    when ``as_root``): the course's result and its graded notebook. The grader stays for the
    next notebook of the same assignment and course. ``ahead``: a grader working through
    the rest of the class, whose answer is taken when it graded this very notebook."""
    key = (assignment, str(course), as_root)
    notebook = nbformat.writes(nb)
    answer = ahead.take(notebook) if ahead else None
    while answer is None:
        server = _SERVERS.get(key)
        if (server is None or server.closed or server.process.poll() is not None
                or server.sources != _sources_stamp(course, assignment)):
            if server is not None:
                server.close()
            server = _SERVERS[key] = _Server(assignment, course, as_root)
        answer = server.grade(notebook)
    return Result.from_json(answer["result"]), nbformat.reads(answer["notebook"], as_version=4)


def _digest(notebook: str) -> str:
    return hashlib.sha256(notebook.encode()).hexdigest()


class _Ahead:
    """A second grader that grades a class from its far end while nbgrader grades it in order.

    nbgrader autogrades a class one submission after another, so the hook's one grader
    kept one core busy where ``regcourse autograde --jobs 2`` keeps two. When nbgrader
    processes several submissions in this process (``nbgrader autograde <assignment>``),
    this grader takes those nbgrader will come to, the last first. It sanitizes each with
    nbgrader's own converter and steps, as nbgrader's first pass will, and grades the
    result with a ``hub-grade`` of its own. nbgrader's turn at a submission takes that
    answer only when the notebook it hands the hook is, byte for byte, the one graded
    ahead, and the assignment's sources have not changed since; otherwise the hook grades
    it as before. A submission that nbgrader reaches first is claimed, and never graded
    ahead as well."""

    def __init__(self, converter, assignment: str, course: Path, as_root: bool, queue: list[tuple[str, str]]):
        self.converter, self.assignment, self.course, self.as_root = converter, assignment, course, as_root
        self.queue = queue          # (student, notebook file) nbgrader has yet to reach, in its order
        self.cond = threading.Condition()
        self.running: set[str] = set()                 # digests being graded ahead
        self.done: dict[str, tuple[tuple, dict]] = {}  # digest -> (sources then, answer)
        self.claimed: set[str] = set()                 # digests nbgrader's turn graded itself
        self.graded_ahead = 0   # answers graded ahead, and of those
        self.taken = 0          # the ones nbgrader's turn took
        self.last = queue[-1][1] if queue else None   # the notebook nbgrader grades last
        self.at_last = False    # nbgrader has reached it
        self.stopped = False
        self.server: _Server | None = None
        converter.log.info("regcourse grades %d submissions of %s ahead of nbgrader, the last first",
                           len(queue), assignment)
        self.thread = threading.Thread(target=self._run, name="regcourse-ahead", daemon=True)
        self.thread.start()

    def reached(self, path: str) -> None:
        """nbgrader is at ``path``: it and everything before it are nbgrader's."""
        with self.cond:
            self.at_last = path == self.last
            paths = [p for _, p in self.queue]
            if path in paths:
                del self.queue[:paths.index(path) + 1]

    def take(self, notebook: str) -> dict | None:
        """The answer graded ahead for ``notebook``, waiting for it while it is graded; None
        when this notebook is nbgrader's turn to grade (then it is claimed)."""
        digest = _digest(notebook)
        with self.cond:
            while digest in self.running:
                self.cond.wait()
            if digest in self.done:
                sources, answer = self.done.pop(digest)
                if sources == _sources_stamp(self.course, self.assignment):
                    self.taken += 1
                    return answer
            self.claimed.add(digest)
            return None

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.queue.clear()
        if self.server:
            self.server.close()

    def _sanitizer(self):
        """An exporter with nbgrader's first-pass steps, as its converter configures them."""
        exporter = self.converter.exporter_class(parent=self.converter, config=self.converter.config)
        for step in self.converter.sanitize_preprocessors:
            exporter.register_preprocessor(step)
        return exporter

    def _sanitized(self, exporter, student: str, path: str) -> str:
        """The notebook nbgrader's first pass will make of ``student``'s ``path``, as the
        hook will get it."""
        notebook = os.path.splitext(os.path.basename(path))[0]
        # what nbgrader's init_single_notebook_resources gives its first pass
        resources = {"unique_key": notebook, "output_files_dir": f"{notebook}_files",
                     "nbgrader": {"student": student, "assignment": self.assignment, "notebook": notebook,
                                  "db_url": self.converter.coursedir.db_url}}
        output, _ = exporter.from_filename(path, resources=resources)
        # nbgrader writes it, reads it back and hands it to the hook, which writes it
        return nbformat.writes(nbformat.reads(output, as_version=4))

    def _run(self) -> None:
        try:
            exporter = self._sanitizer()
            while True:
                with self.cond:
                    if self.stopped or not self.queue:
                        return
                    student, path = self.queue.pop()
                try:
                    notebook = self._sanitized(exporter, student, path)
                except Exception:  # noqa: BLE001 -- nbgrader's own turn meets and reports it
                    continue
                digest = _digest(notebook)
                with self.cond:
                    if digest in self.claimed or digest in self.done or digest in self.running:
                        continue
                    self.running.add(digest)
                    sources = _sources_stamp(self.course, self.assignment)
                answer = None
                try:
                    if self.server is None or self.server.closed or self.server.process.poll() is not None:
                        self.server = _Server(self.assignment, self.course, self.as_root)
                    answer = self.server.grade(notebook)
                except Exception:  # noqa: BLE001 -- nbgrader's turn grades it and reports what failed
                    pass
                with self.cond:
                    self.running.discard(digest)
                    if answer is not None and "error" not in answer:
                        self.done[digest] = (sources, answer)
                        self.graded_ahead += 1
                        self.converter.log.info("regcourse graded %s's %s ahead of nbgrader", student, self.assignment)
                    self.cond.notify_all()
        finally:
            with self.cond:
                self.running.clear()
                self.cond.notify_all()
            if self.server:
                self.server.close()


def _yet_to_grade(converter, assignment: str, after: str) -> list[tuple[str, str]]:
    """(student, notebook file) that nbgrader's Autograde ``converter`` will grade in this
    process after the submission folder ``after``, in its order: its submissions of
    ``assignment`` (sorted, as it takes them) less those it will skip, by its own rule (an
    excluded student; an autograded copy that exists, is not forced, and is not older than
    the submission)."""
    coursedir = converter.coursedir
    excluded = set(filter(None, (coursedir.student_id_exclude or "").split(",")))
    pattern = coursedir.format_path(coursedir.submitted_directory, "(?P<student_id>.*)", re.escape(assignment),
                                    escape=True)
    notebooks = []
    for folder in sorted(f for f in converter.assignments if f > after):
        match = re.fullmatch(pattern, folder)
        if match is None or match["student_id"] in excluded:
            continue
        dest = os.path.normpath(coursedir.format_path(coursedir.autograded_directory, match["student_id"], assignment))
        mine = sorted(converter.assignments[folder])
        missing = (not os.path.exists(dest) if coursedir.notebook_id == "*" else
                   any(not os.path.exists(os.path.join(dest, os.path.basename(n))) for n in mine))
        newer, older = coursedir.get_existing_timestamp(folder), coursedir.get_existing_timestamp(dest)
        if missing or converter.force or (newer is not None and older is not None and newer > older):
            notebooks += [(match["student_id"], n) for n in mine]
    return notebooks


_AHEAD_LOCK = threading.Lock()


def _ahead_for(converter, assignment: str, student: str, notebook: str, course: Path,
               as_root: bool) -> "_Ahead | None":
    """The grader ahead of nbgrader's Autograde ``converter``, started at its first notebook
    when it autogrades more than one submission here (none for one student, as the
    formgrader's button per submission asks); nbgrader has reached ``student``'s
    ``notebook``."""
    if len(getattr(converter, "assignments", None) or {}) < 2 or not hasattr(converter, "coursedir"):
        return None
    coursedir = converter.coursedir
    folder = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    path = os.path.join(folder, f"{notebook}.ipynb")
    key = (assignment, str(course), as_root)
    with _AHEAD_LOCK:
        ahead = _AHEAD.get(key)
        if ahead is None or ahead.converter is not converter:
            if ahead is not None:   # an earlier autograde's
                _AHEAD.pop(key).stop()
            queue = _yet_to_grade(converter, assignment, after=folder)
            if not queue:
                return None
            ahead = _AHEAD[key] = _Ahead(converter, assignment, course, as_root, queue)
    ahead.reached(path)
    return ahead


class CourseGrading(NbGraderPreprocessor):
    """Grade with ``regcourse hub-grade`` and return its executed notebook (see the module)."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        course, as_root = Path(coursedir.root), _may_sudo()
        # the Autograde converter that runs this step (its exporter's parent), if any
        converter = getattr(getattr(self, "parent", None), "parent", None)
        ahead = _ahead_for(converter, info["assignment"], info["student"], info["notebook"], course, as_root)
        taken = ahead.taken if ahead else 0
        result, executed = grade(nb, info["assignment"], course, as_root=as_root, ahead=ahead)
        self.log.info("regcourse graded %s's %s: %g / %g (%s)%s", info["student"], info["assignment"],
                      result.score, result.max_score, result.isolation,
                      " (graded ahead)" if ahead and ahead.taken > taken else "")
        result.student = info["student"]   # the grader saw only the notebook, under a neutral name
        # the class report (course/reports/<assignment>.html) follows each grading; when
        # nbgrader grades a class in this process, once, after its last notebook (each
        # report reads every result kept: once per notebook, a class cost its square)
        due = (str(coursedir.root), info["assignment"])
        try:
            keep_result(Path(coursedir.root), result)
            if ahead is None or ahead.at_last:
                _REPORTS_DUE.discard(due)
                write_report(Path(coursedir.root), info["assignment"])
                self.log.info("regcourse wrote the class report of %s", info["assignment"])
            else:
                _REPORTS_DUE.add(due)
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
