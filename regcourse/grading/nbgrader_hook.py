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

import json
import shutil
import subprocess
import sys
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


def _may_sudo() -> bool:
    """Whether the classroom's sudo rule lets this user grade as root (never asks for a
    password)."""
    sudo = shutil.which("sudo")
    if not sudo:
        return False
    done = subprocess.run([sudo, "-n", "-l", str(REGCOURSE), "hub-grade", "x", "--course", "x"],
                          capture_output=True, text=True)
    return done.returncode == 0


def grade(nb, assignment: str, course: Path, as_root: bool) -> tuple[Result, object]:
    """Grade ``nb`` with ``regcourse hub-grade`` (as root through the classroom's sudo rule
    when ``as_root``): the course's result and its graded notebook."""
    command = [str(REGCOURSE), "hub-grade", assignment, "--course", str(course)]
    done = subprocess.run(["sudo", "-n", *command] if as_root else command,
                          input=nbformat.writes(nb), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the course's grader failed{' (as root)' if as_root else ''}:\n"
                           f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    answer = json.loads(done.stdout)
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
