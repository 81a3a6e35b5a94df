"""What a graded class got wrong: ``regcourse report ASSIGNMENT`` (in an nbgrader course folder).

The grader names each learner's mistakes (a verdict, a message, the smallest failing
input, the likely cause from :mod:`.hints`). Every class grading keeps each student's
result in ``results/<assignment>/<student>.json`` (``regcourse autograde`` and the
classroom's formgrader alike, see :func:`keep_result`); this module reads them back and
writes the class view for the instructor, as an offline HTML page (equations drawn as
MathML, no script, no network) and a CSV of the same rows, in ``reports/``:

- per graded cell: how many students lost points there, and how many points in all;
- per known mistake (a hint of the catalogue): how many students made it, and who;
- the smallest failing inputs seen most often;
- written answers the instructor has not graded yet (from the gradebook);
- submissions that need review, or that attacked the grader.

What it shows is what the learners' own feedback shows (messages, examples, hints),
never a hidden test.
"""

from __future__ import annotations

import csv
import html
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .report import Result

RESULTS = "results"
REPORTS = "reports"


def keep_result(course_root: Path, result: Result) -> Path:
    """Store ``result`` as the student's latest for the class report (replaced whole)."""
    folder = Path(course_root) / RESULTS / result.assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.student}.json"
    draft = path.with_suffix(".new")
    draft.write_text(json.dumps(result.to_json()))
    os.replace(draft, path)
    return path


def load_results(course_root: Path, assignment: str) -> list[Result]:
    folder = Path(course_root) / RESULTS / assignment
    return [Result.from_json(json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


@dataclass
class ClassView:
    assignment: str
    students: int
    cells: list[tuple[str, list[str], float, float]] = field(default_factory=list)  # id, who lost, lost, max
    mistakes: list[tuple[str, str, list[str]]] = field(default_factory=list)        # cell(s), cause, who
    unexplained: list[tuple[str, list[str]]] = field(default_factory=list)          # cell, who (no known cause)
    examples: list[tuple[str, str, int]] = field(default_factory=list)              # cell, input, how often
    pending: list[tuple[str, list[str]]] = field(default_factory=list)              # written answer, who
    reviews: list[tuple[str, list[str]]] = field(default_factory=list)              # student, why
    tampering: list[tuple[str, list[str]]] = field(default_factory=list)


def class_view(results: list[Result], still_pending=None) -> ClassView:
    """The class's view of ``results``; ``still_pending(student, grade_id)`` says whether a
    written answer is still ungraded (default: as it was when graded)."""
    view = ClassView(results[0].assignment if results else "", len(results))
    order: dict[str, int] = {}
    lost: dict[str, list[str]] = defaultdict(list)
    points: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    causes: dict[str, tuple[set[str], list[str]]] = {}
    unexplained: dict[str, list[str]] = defaultdict(list)
    examples: Counter = Counter()
    pending: dict[str, list[str]] = defaultdict(list)
    for r in sorted(results, key=lambda r: r.student):
        for item in r.items:
            order.setdefault(item.grade_id, len(order))
            if item.pending:
                if still_pending is None or still_pending(r.student, item.grade_id):
                    pending[item.grade_id].append(r.student)
                continue
            points[item.grade_id][1] = max(points[item.grade_id][1], item.max_score)
            if item.score >= item.max_score:
                continue
            lost[item.grade_id].append(r.student)
            points[item.grade_id][0] += item.max_score - item.score
            if item.hint:
                cells, who = causes.setdefault(item.hint, (set(), []))
                cells.add(item.grade_id)
                if r.student not in who:
                    who.append(r.student)
            else:
                unexplained[item.grade_id].append(r.student)
            if item.example:
                examples[(item.grade_id, item.example)] += 1
        if r.reviews:
            view.reviews.append((r.student, r.reviews))
        if r.tampering:
            view.tampering.append((r.student, r.tampering))
    view.cells = [(gid, lost[gid], points[gid][0], points[gid][1]) for gid in sorted(points, key=order.get)]
    view.mistakes = sorted(((", ".join(sorted(cells, key=order.get)), cause, who)
                            for cause, (cells, who) in causes.items()), key=lambda m: (-len(m[2]), m[0], m[1]))
    view.unexplained = [(gid, unexplained[gid]) for gid in sorted(unexplained, key=order.get)]
    view.examples = [(gid, example, n) for (gid, example), n in examples.most_common(10)]
    view.pending = [(gid, pending[gid]) for gid in sorted(pending, key=order.get)]
    return view


STYLE = """<style>
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #c8c8c8; padding: 0.35em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.n { text-align: right; white-space: nowrap; } code { overflow-wrap: anywhere; }
</style>"""


def _who(students: list[str]) -> str:
    return ", ".join(html.escape(s) for s in students)


def page(view: ClassView) -> str:
    """The report as one offline HTML page: no script, nothing loaded from elsewhere."""
    from .feedback import math_to_mathml

    e = html.escape
    n = view.students
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
           f"<title>What the class got wrong: {e(view.assignment)}</title>", STYLE, "</head><body>",
           f"<h1>What the class got wrong: <code>{e(view.assignment)}</code></h1>",
           f"<p>{n} graded submission{'s' if n != 1 else ''}.</p>",
           "<h2>Points lost, per graded cell</h2><table><thead><tr><th>graded cell</th><th>students who lost "
           "points</th><th>points lost in all</th><th>who</th></tr></thead><tbody>"]
    for gid, who, lost, most in view.cells:
        out.append(f'<tr><td><code>{e(gid)}</code></td><td class="n">{len(who)} of {n}</td>'
                   f'<td class="n">{lost:g} of {most * n:g}</td><td>{_who(who)}</td></tr>')
    out.append("</tbody></table><h2>Known mistakes</h2>")
    if view.mistakes:
        out.append("<table><thead><tr><th>students</th><th>likely cause</th><th>where</th><th>who</th></tr>"
                   "</thead><tbody>")
        for cells, cause, who in view.mistakes:
            out.append(f'<tr><td class="n">{len(who)}</td><td>{math_to_mathml(e(cause))}</td>'
                       f"<td><code>{e(cells)}</code></td><td>{_who(who)}</td></tr>")
        out.append("</tbody></table>")
    else:
        out.append("<p>None of the catalogued mistakes was seen.</p>")
    if view.unexplained:
        out.append("<p>Lost points with no catalogued cause (read these submissions): "
                   + "; ".join(f"<code>{e(gid)}</code>: {_who(who)}" for gid, who in view.unexplained) + "</p>")
    out.append("<h2>Smallest failing inputs seen most often</h2>")
    if view.examples:
        out.append("<table><thead><tr><th>times</th><th>graded cell</th><th>input and results</th></tr></thead>"
                   "<tbody>" + "".join(f'<tr><td class="n">{k}</td><td><code>{e(gid)}</code></td>'
                                       f"<td><code>{e(example)}</code></td></tr>"
                                       for gid, example, k in view.examples) + "</tbody></table>")
    else:
        out.append("<p>None.</p>")
    out.append("<h2>Written answers still to grade</h2>")
    out.append("".join(f"<p><code>{e(gid)}</code>: {len(who)} ({_who(who)})</p>" for gid, who in view.pending)
               or "<p>None: every written answer has its score.</p>")
    for title, rows in (("Needs review", view.reviews), ("Tampering", view.tampering)):
        out.append(f"<h2>{title}</h2>")
        out.append("<ul>" + "".join(f"<li>{e(s)}: {'; '.join(e(w) for w in why)}</li>" for s, why in rows)
                   + "</ul>" if rows else "<p>None.</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def rows(view: ClassView) -> list[list[str]]:
    """The report's rows for the CSV: kind, graded cell(s), count, students, detail."""
    table = [["kind", "graded cell", "students", "who", "detail"]]
    table += [["points lost", gid, str(len(who)), " ".join(who), f"{lost:g} points"] for gid, who, lost, _ in view.cells]
    table += [["known mistake", cells, str(len(who)), " ".join(who), cause] for cells, cause, who in view.mistakes]
    table += [["no known cause", gid, str(len(who)), " ".join(who), ""] for gid, who in view.unexplained]
    table += [["failing input", gid, str(k), "", example] for gid, example, k in view.examples]
    table += [["pending", gid, str(len(who)), " ".join(who), ""] for gid, who in view.pending]
    table += [["needs review", "", "1", s, " | ".join(why)] for s, why in view.reviews]
    table += [["tampering", "", "1", s, " | ".join(why)] for s, why in view.tampering]
    return table


def write_report(course_root: Path, assignment: str) -> tuple[Path, Path]:
    """``reports/<assignment>.html`` and ``.csv`` of the class graded in ``course_root``."""
    from .course import Course

    course = Course(Path(course_root))
    results = load_results(course.root, assignment)
    if not results:
        raise ValueError(f"no graded submission of {assignment!r} in {course.root / RESULTS}: "
                         f"grade the class first (regcourse autograde {assignment})")
    view = class_view(results, _gradebook_pending(course, assignment))
    folder = course.root / REPORTS
    folder.mkdir(exist_ok=True)
    html_path, csv_path = folder / f"{assignment}.html", folder / f"{assignment}.csv"
    html_path.write_text(page(view))
    with open(csv_path, "w", newline="") as f:
        csv.writer(f).writerows(rows(view))
    return html_path, csv_path


def _gradebook_pending(course, assignment: str):
    """Whether a student's written answer still has no manual score in the gradebook; None
    (each result's own word) when the gradebook cannot be read, say while nbgrader writes it."""
    scored = set()
    try:
        with course.gradebook() as gb:
            for notebook in gb.find_assignment(assignment).notebooks:
                for sub in gb.notebook_submissions(notebook.name, assignment):
                    for grade in sub.grades:
                        if grade.manual_score is not None:
                            scored.add((sub.student.id, grade.name))
    except Exception:  # noqa: BLE001 -- the report is still right about everything else
        return None
    return lambda student, grade_id: (student, grade_id) not in scored
