"""Feedback pages that show a learner their points and mistakes, never the hidden tests.

nbgrader's ``ClearHiddenTests`` removes the hidden blocks from the test cells' source,
but a failing hidden test still prints its lines in the traceback. ``HideTestDetails``
replaces the traceback of every graded test cell by its last line, the error message,
which is where the course's tests name the mistake. Both are in ``nbgrader_config.py``,
so ``nbgrader generate_feedback`` in a class behaves the same as ``regcourse grade``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from ..notebooks import nbgrader_meta
from .report import Result
from .tracebacks import where

# nbgrader's default feedback steps, and the two that keep hidden tests hidden
DEFAULT_STEPS = ["nbgrader.preprocessors.GetGrades", "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
HIDING_STEPS = ["nbgrader.preprocessors.ClearHiddenTests", "regcourse.grading.feedback.HideTestDetails"]
REPORT_CELL = "regcourse-grading-report"


class HideTestDetails(NbGraderPreprocessor):
    """Reduce the error output of graded test cells to the error message, and the frames
    of the learner's own cells where the error arose (never the test's lines)."""

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    message = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".rstrip(": ")
                    out["traceback"] = [message + where(out, nb),
                                        "(the test's own lines are not shown: they would reveal the hidden tests)"]
        return nb, resources


def report_markdown(result: Result) -> str:
    """The grading report placed at the top of the feedback page."""
    lines = [f"## Grading report: {result.score:g} / {result.max_score:g} points", ""]
    if result.tampering:
        lines += ["**Tampering detected.** The submission attacks the grader; every item scores 0:", ""]
        lines += [f"- {t}" for t in result.tampering] + [""]
    if result.reviews:
        lines += ["**Needs review.** Your notebook's own tests passed, but the grader's check on fresh "
                  "inputs found a mistake that they missed. These items score 0 until your instructor "
                  "has looked at them; nothing here suggests cheating:", ""]
        lines += [f"- {r}" for r in result.reviews] + [""]
    if result.problems:
        lines += ["Notes on this submission:", ""] + [f"- {p}" for p in result.problems] + [""]
    lines += ["| test cell | points | verdict | why points were lost |", "|---|---|---|---|"]
    for i in result.items:
        message = i.message.replace("|", "\\|")
        lines.append(f"| `{i.grade_id}` | {i.score:g} / {i.max_score:g} | {i.verdict} | {message} |")
    if result.isolation:
        lines += ["", f"*{result.isolation}*"]
    return "\n".join(lines)


def add_report(autograded: Path, result: Result) -> None:
    """Put (or replace) the grading report as the first cell of the autograded notebook."""
    nb = nbformat.read(str(autograded), as_version=4)
    nb.cells = [c for c in nb.cells if c.get("id") != REPORT_CELL]
    cell = nbformat.v4.new_markdown_cell(report_markdown(result))
    cell["id"] = REPORT_CELL
    nb.cells.insert(0, cell)
    nbformat.write(nb, str(autograded))


def write_feedback(run, target: Path) -> Path:
    """Generate ``run``'s feedback page with nbgrader and copy it to ``target`` (a file)."""
    course, result = run.course, run.result
    if run.autograded.exists():
        record_scores(course, result)
        add_report(run.autograded, result)
        steps = list(course.config.GenerateFeedback.get("preprocessors", DEFAULT_STEPS))
        course.config.GenerateFeedback.preprocessors = steps + [s for s in HIDING_STEPS if s not in steps]
        outcome = course.api().generate_feedback(result.assignment, result.student)
        html = course.root / "feedback" / result.student / result.assignment / f"{result.assignment}.html"
        if outcome.get("success") and html.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(html, target)
            return target
    # nothing could run: a page with the report alone
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(report_markdown(result))]
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body)
    return target


def record_scores(course, result: Result) -> None:
    """Write ``result``'s final scores into ``course``'s gradebook (replacing nbgrader's)."""
    with course.gradebook() as gb:
        for item in result.items:
            grade = gb.find_grade(item.grade_id, result.assignment, result.assignment, result.student)
            grade.auto_score = item.score
            grade.needs_manual_grade = False
        gb.db.commit()
