"""Feedback pages that show a learner their points and mistakes, never the hidden tests.

The page is nbgrader's feedback page, made with these steps (in ``nbgrader_config.py``,
so that ``nbgrader generate_feedback`` in a class behaves the same as ``regcourse grade``):

- nbgrader's ``ClearHiddenTests`` removes the hidden blocks from the test cells' source;
- :class:`HideTestDetails` replaces the traceback of every graded test cell by its error
  message and the lines of the learner's own cells where the error arose: a failing
  hidden test would otherwise print its lines;
- :class:`RemoveRubrics` removes the rubrics of the written answers, which the grader
  adds to the autograded notebook for the instructor's eyes only;
- :class:`RenderMathOffline` turns every equation into MathML, which browsers draw by
  themselves: the page needs no MathJax and no network (``templates/feedback`` holds a
  MathJax macro that loads nothing, found before nbconvert's).

The grading report at the top of the page is a table of every graded cell with its
points, its verdict and the reason for each lost point; written answers show as
pending; the smallest failing example and, on request, the likely cause of each mistake
(:mod:`.hints`) sit beside the point they explain.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from ..authoring.notebooks import is_written_answer, nbgrader_meta, read
from .report import Result
from .tracebacks import where

TEMPLATES = Path(__file__).parent / "templates"
# Feedback shows the points and each failing test's message, never the hidden tests:
# ClearHiddenTests removes them from the cells, HideTestDetails from the tracebacks;
# RemoveRubrics takes out the written answers' rubrics, which only graders see, PendingAnswers
# marks the ungraded ones pending (not "Score: 0"), and RenderMathOffline draws the equations
# as MathML, so the page needs no network. (nbgrader_config.py sets these.)
FEEDBACK_STEPS = ["nbgrader.preprocessors.GetGrades", "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
                  "nbgrader.preprocessors.ClearHiddenTests", "regcourse.grading.feedback.HideTestDetails",
                  "regcourse.grading.feedback.RemoveRubrics", "regcourse.grading.feedback.PendingAnswers",
                  "regcourse.grading.feedback.RenderMathOffline"]
REPORT_CELL = "regcourse-grading-report"
RUBRIC_CELL = "regcourse-rubric-"


def template_dirs() -> list[str]:
    """Where nbconvert looks for the "feedback" template: the course's folder first, which
    holds only a MathJax macro that loads nothing, then nbgrader's, which has the page.
    (nbgrader's API insists on the template name "feedback", so the course's part must
    be found under that name.)"""
    import nbgrader

    return [str(TEMPLATES), str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates")]


# -- the feedback steps --------------------------------------------------------------------

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


class RemoveRubrics(NbGraderPreprocessor):
    """Take the graders' rubrics out: the learner sees their answer, not the model answer."""

    def preprocess(self, nb, resources):
        nb.cells = [c for c in nb.cells if not str(c.get("id", "")).startswith(RUBRIC_CELL)]
        return nb, resources


class PendingAnswers(NbGraderPreprocessor):
    """Written answers that no one has graded yet are pending, not scored 0: nbgrader's page
    would list them as "Score: 0.0"; they are shown without a score and marked pending.
    Answers the instructor has graded since autograding update the grading report (written
    when they were still pending) with their points and the new total."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        graded: dict[str, tuple[float, float]] = {}
        with Gradebook(info["db_url"]) as gb:
            for cell in nb.cells:
                meta = nbgrader_meta(cell)
                if not is_written_answer(cell):
                    continue
                grade = gb.find_grade(meta["grade_id"], info["notebook"], info["assignment"], info["student"])
                if grade.manual_score is None:
                    meta["grade"] = False  # the page lists and scores graded cells only
                    cell.source += (f"\n\n*Pending: {meta.get('points', 0):g} points, graded by your "
                                    "instructor.*")
                else:
                    graded[meta["grade_id"]] = (grade.score, grade.max_score)
            total = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"]).score
        report = next((c for c in nb.cells if c.get("id") == REPORT_CELL), None)
        if report is not None and graded:
            report.source = _with_written_grades(report.source, graded, total)
        return nb, resources


def _with_written_grades(report: str, graded: dict[str, tuple[float, float]], total: float) -> str:
    """The report's rows of written answers with their points, and its total."""
    for grade_id, (score, points) in graded.items():
        report = re.sub(rf"(<code>{re.escape(grade_id)}</code></td><td class=\"points\">)pending(</td>"
                        rf"<td class=\"regcourse-verdict-pending\">)pending(</td><td>)[^<]*",
                        rf"\g<1>{score:g} / {points:g}\g<2>graded by hand\g<3>graded by your instructor", report)
    report = re.sub(r"<h2>Grading report: [\d.]+ / ([\d.]+) points</h2>",
                    lambda m: f"<h2>Grading report: {total:g} / {m.group(1)} points</h2>", report)
    pending = sum(p for s, p in graded.values())
    return re.sub(r"<p>([\d.]+) of these points are for written answers, which your instructor grades: "
                  r"they are pending, not lost.</p>",
                  lambda m: "" if float(m.group(1)) <= pending else
                  f"<p>{float(m.group(1)) - pending:g} of these points are for written answers that your "
                  "instructor has not graded yet: they are pending, not lost.</p>", report)


_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$([^$\n]+?)\$", re.S)


_ALIGNED = re.compile(r"\\begin\{aligned\}(.*?)\\end\{aligned\}", re.S)


def _aligned_as_array(tex: str) -> str:
    """amsmath's ``aligned`` as an ``array`` of right- and left-aligned columns, which the
    MathML converter knows."""
    def array(match):
        body = match.group(1)
        columns = 1 + max(row.count("&") for row in body.split("\\\\"))
        return "\\begin{array}{" + "".join("rl"[i % 2] for i in range(columns)) + "}" + body + "\\end{array}"
    return _ALIGNED.sub(array, tex)


def math_to_mathml(markdown: str) -> str:
    """``markdown`` with every $...$ and $$...$$ outside code replaced by MathML."""
    from latex2mathml.converter import convert

    def render(match):
        tex, display = (match.group(1), "block") if match.group(1) is not None else (match.group(2), "inline")
        try:
            return convert(_aligned_as_array(tex.strip()), display=display)
        except Exception:  # noqa: BLE001 -- an equation it cannot draw stays readable as TeX
            return f"<code>{html.escape(match.group(0))}</code>"

    parts = _CODE.split(markdown)
    return "".join(part if i % 2 else _MATH.sub(render, part) for i, part in enumerate(parts))


class RenderMathOffline(NbGraderPreprocessor):
    """Equations as MathML, drawn by the browser: no MathJax, no network."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "markdown":
            cell.source = math_to_mathml(cell.source)
        return cell, resources


# -- the grading report ---------------------------------------------------------------------

REPORT_STYLE = """
<style>
div.regcourse-report { overflow-x: auto; max-width: 100%; }  /* a narrow screen scrolls the table */
table.regcourse-report { border-collapse: collapse; margin: 0.5em 0 1em; width: 100%; }
table.regcourse-report code { overflow-wrap: anywhere; }
table.regcourse-report th, table.regcourse-report td { border: 1px solid #c8c8c8; padding: 0.35em 0.6em;
  text-align: left; vertical-align: top; }
table.regcourse-report th { background: #f0f0f0; }
table.regcourse-report td.points { white-space: nowrap; }
table.regcourse-report .hint, table.regcourse-report .example { margin-top: 0.3em; color: #30445c; }
.regcourse-verdict-failed, .regcourse-verdict-tampering { color: #a31515; }
.regcourse-verdict-needs-review { color: #8a5300; }
.regcourse-verdict-pending { color: #38598b; }
</style>
"""


def report_html(result: Result, hints: bool = False) -> str:
    """The grading report placed at the top of the feedback page (HTML)."""
    e = html.escape
    total = f"{result.score:g} / {result.max_score:g} points"
    parts = [REPORT_STYLE, f"<h2>Grading report: {total}</h2>"]
    if result.pending_points:
        parts.append(f"<p>{result.pending_points:g} of these points are for written answers, which your "
                     "instructor grades: they are pending, not lost.</p>")
    if result.tampering:
        parts.append("<p><strong>Tampering detected.</strong> The submission attacks the grader; every "
                     "automatically graded item scores 0:</p><ul>"
                     + "".join(f"<li>{e(t)}</li>" for t in result.tampering) + "</ul>")
    if result.reviews:
        parts.append("<p><strong>Needs review.</strong> Your notebook's own tests passed, but the grader's "
                     "check on fresh inputs found a mistake that they missed. These items score 0 until your "
                     "instructor has looked at them; nothing here suggests cheating:</p><ul>"
                     + "".join(f"<li>{e(r)}</li>" for r in result.reviews) + "</ul>")
    if result.problems:
        parts.append("<p>Notes on this submission:</p><ul>" + "".join(f"<li>{e(p)}</li>" for p in result.problems)
                     + "</ul>")
    rows = []
    for i in result.items:
        points = "pending" if i.pending else f"{i.score:g} / {i.max_score:g}"
        why = re.sub(r"`([^`]+)`", r"<code>\1</code>", e(i.message))
        if i.example:
            why += f'<div class="example">Smallest failing example: <code>{e(i.example)}</code></div>'
        if hints and i.hint:
            why += f'<div class="hint">Likely cause: {e(i.hint)}</div>'
        verdict = i.verdict.replace(" ", "-")
        rows.append(f"<tr><td><code>{e(i.grade_id)}</code></td><td class=\"points\">{points}</td>"
                    f"<td class=\"regcourse-verdict-{verdict}\">{e(i.verdict)}</td><td>{why}</td></tr>")
    parts.append('<div class="regcourse-report"><table class="regcourse-report"><thead><tr>'
                 "<th>graded cell</th><th>points</th><th>verdict</th><th>why points were lost</th></tr>"
                 "</thead><tbody>" + "".join(rows) + "</tbody></table></div>")
    if not hints and any(i.hint for i in result.items):
        parts.append("<p>Stuck? Grade again with <code>--hint</code> to see the likely cause of each lost "
                     "point.</p>")
    if result.isolation:
        parts.append(f"<p><em>{e(result.isolation)}</em></p>")
    return "\n".join(parts)


def _rewrite(path: Path, nb) -> None:
    """Write ``nb`` over ``path``, which nbgrader leaves read-only (0444): without root the
    owner must first allow itself to write; the mode is put back."""
    mode = path.stat().st_mode & 0o7777
    path.chmod(mode | 0o200)
    try:
        nbformat.write(nb, str(path))
    finally:
        path.chmod(mode)


def add_report(autograded: Path, result: Result, hints: bool = False) -> None:
    """Put (or replace) the grading report as the first cell of the autograded notebook."""
    nb = nbformat.read(str(autograded), as_version=4)
    nb.cells = [c for c in nb.cells if c.get("id") != REPORT_CELL]
    cell = nbformat.v4.new_markdown_cell(report_html(result, hints))
    cell["id"] = REPORT_CELL
    nb.cells.insert(0, cell)
    _rewrite(autograded, nb)


def rubric(answer_cell) -> str:
    """The model answer and rubric of a written answer: its solution region in the source."""
    match = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", answer_cell.source, re.S)
    return match.group(1).strip() if match else answer_cell.source


def add_rubrics(autograded: Path, source: Path) -> None:
    """After each written answer of the autograded notebook, the rubric from the source
    notebook, for the instructor grading by hand (feedback removes it again)."""
    rubrics = {nbgrader_meta(c)["grade_id"]: rubric(c) for c in read(source).cells if is_written_answer(c)}
    if not rubrics:
        return
    nb = nbformat.read(str(autograded), as_version=4)
    cells = []
    for cell in nb.cells:
        if str(cell.get("id", "")).startswith(RUBRIC_CELL):
            continue
        cells.append(cell)
        gid = nbgrader_meta(cell).get("grade_id")
        if is_written_answer(cell) and gid in rubrics:
            note = nbformat.v4.new_markdown_cell(
                f"> **For the grader: model answer and rubric of `{gid}`** (not shown to the student)\n>\n"
                + "\n".join(f"> {line}" if line else ">" for line in rubrics[gid].splitlines()))
            note["id"] = f"{RUBRIC_CELL}{gid}"[:64]
            cells.append(note)
    nb.cells = cells
    _rewrite(autograded, nb)


def prepare_feedback() -> None:
    """Import what a feedback page imports on first use: the equations' converter, the
    sanitizer that nbgrader_config.py names, and the syntax highlighter's lexers (a tenth of
    a second, which ``regcourse grade`` spends while its kernel factory still imports)."""
    import IPython.lib.lexers  # noqa: F401
    import latex2mathml.converter  # noqa: F401
    import nbconvert.exporters.html  # noqa: F401

    from . import safe_html  # noqa: F401


def write_feedback(run, target: Path, hints: bool = False) -> Path:
    """Generate ``run``'s feedback page with nbgrader and copy it to ``target`` (a file)."""
    course, result = run.course, run.result
    if run.autograded.exists():
        course.record(result)   # nbgrader's page reads the scores from the gradebook: the course's
        add_report(run.autograded, result, hints)
        steps = list(course.config.GenerateFeedback.get("preprocessors", []))
        course.config.GenerateFeedback.preprocessors = steps + [s for s in FEEDBACK_STEPS if s not in steps]
        outcome = course.api().generate_feedback(result.assignment, result.student)
        page = course.root / "feedback" / result.student / result.assignment / f"{result.assignment}.html"
        if outcome.get("success") and page.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(page, target)
            return target
    # nothing could run: a page with the report alone
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      f"<title>Feedback: {html.escape(result.assignment)}</title></head>"
                      f"<body>{report_html(result, hints)}</body></html>\n")
    return target
