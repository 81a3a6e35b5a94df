"""Grading a whole class: every submission of an assignment, in parallel, with one writer.

``regcourse autograde ASSIGNMENT --jobs N``, run in an nbgrader course folder, grades
each ``submitted/<student>/<assignment>/`` in a pool of N worker processes (each
submission in its own private course folder and sandbox), then records every result in
the course's gradebook from this process alone, because SQLite does not take concurrent
writers. A student's earlier grades and autograded notebook are replaced, never merged:
nothing stale survives a failed re-grade. It finally writes ``grades.csv``.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .course import Course, write_grades
from .feedback import add_report
from .grader import Grader
from .report import Result
from .sandbox import Limits, require_private

_grader: Grader | None = None  # the worker processes inherit it through fork


@dataclass
class Graded:
    result: Result
    autograded: str | None  # the private autograded notebook, if nbgrader produced one


def find_notebook(folder: Path, assignment: str) -> tuple[Path | None, str | None]:
    """The submitted notebook in ``folder`` and a note if it had to be guessed."""
    expected = folder / f"{assignment}.ipynb"
    if expected.is_file():
        return expected, None
    candidates = sorted(p for p in folder.glob("*.ipynb") if p.is_file()) if folder.is_dir() else []
    if len(candidates) == 1:
        return candidates[0], f"the notebook was named {candidates[0].name}; graded it as {assignment}.ipynb"
    if candidates:
        return None, f"{len(candidates)} notebooks and none named {assignment}.ipynb: which one to grade is unclear"
    return None, f"no notebook was submitted ({assignment}.ipynb is missing)"


def _grade_student(task: tuple[str, str, str]) -> Graded:
    folder, assignment, student = task
    assert _grader is not None
    notebook, note = find_notebook(Path(folder), assignment)
    if notebook is None:
        result = Result(assignment, student, _grader._zeros(assignment, "not graded: no notebook"), [note])
        return Graded(result, None)
    run = _grader.grade(notebook, assignment, student)
    if note:
        run.result.problems.insert(0, note)
    return Graded(run.result, str(run.autograded) if run.autograded.exists() else None)


def grade_class(course_root: Path, assignment: str, jobs: int | None = None, limits: Limits = Limits(),
                students: list[str] | None = None, progress=sys.stderr, cold: bool | None = None,
                seed: int | None = None, grader: Grader | None = None) -> list[Result]:
    """Grade every submission of ``assignment`` in the course folder ``course_root``, in
    the order of ``students`` when given (``seed``: the secret seed of the trusted checks'
    inputs, fixed only by tests; ``grader``: one to grade with, which the caller closes)."""
    global _grader
    course = Course(Path(course_root))
    submitted = course.root / "submitted"
    everyone = sorted(p.name for p in submitted.iterdir() if (p / assignment).exists()) if submitted.is_dir() else []
    students = students or everyone
    if not students:
        raise ValueError(f"no submissions of {assignment!r} under {submitted}")
    jobs = max(1, jobs or os.cpu_count() or 1)
    # kernels run as other users: they must not reach other submissions or the gradebook
    require_private(course.root)
    _grader = grader or Grader(course.root / course.source_directory, course.root / "nbgrader_config.py",
                               assignments=[assignment], limits=limits, cold=cold, seed=seed)
    tasks = [(str(submitted / s / assignment), assignment, s) for s in students]
    graded: list[Graded] = []
    started = time.monotonic()
    try:
        if jobs == 1:
            for task in tasks:
                graded.append(_grade_student(task))
                _progress(progress, len(graded), len(tasks), started)
        else:
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                for g in pool.imap_unordered(_grade_student, tasks):
                    graded.append(g)
                    _progress(progress, len(graded), len(tasks), started)
        results = record(course, assignment, graded)
    finally:
        if grader is None:
            _grader.close()
        _grader = None
    write_csv(course.root / "grades.csv", assignment, results)
    return results


def record(course: Course, assignment: str, graded: list[Graded]) -> list[Result]:
    """The single writer: replace each student's submission in the gradebook and folders."""
    from nbgrader.api import MissingEntry

    results = []
    with course.gradebook() as gb:
        for g in sorted(graded, key=lambda g: g.result.student):
            r = g.result
            student = r.student
            gb.update_or_create_student(student)
            try:
                gb.remove_submission(assignment, student)
            except MissingEntry:
                pass
            stamp = _timestamp(course, student, assignment)
            gb.add_submission(assignment, student, **({"timestamp": stamp} if stamp else {}))
            write_grades(gb, assignment, student, r.items)
            target = course.autograded_path(student, assignment)
            if target.parent.exists():
                shutil.rmtree(target.parent)
            if g.autograded:
                source = Path(g.autograded)
                shutil.copytree(source.parent, target.parent)
                add_report(target, r)
            results.append(r)
    return results


def _timestamp(course: Course, student: str, assignment: str) -> str | None:
    stamp = course.root / "submitted" / student / assignment / "timestamp.txt"
    return stamp.read_text().strip() if stamp.is_file() else None


def write_csv(path: Path, assignment: str, results: list[Result]) -> None:
    ids = [i.grade_id for i in results[0].items] if results else []
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "assignment", "score", "max_score", "pending", "status", *ids, "problems",
                    "needs review", "tampering"])
        for r in sorted(results, key=lambda r: r.student):
            # a written answer waits for the instructor: "pending", not 0
            cells = {i.grade_id: "pending" if i.pending else f"{i.score:g}" for i in r.items}
            w.writerow([r.student, assignment, f"{r.score:g}", f"{r.max_score:g}", f"{r.pending_points:g}",
                        r.status, *[cells.get(g, "0") for g in ids], " | ".join(r.problems),
                        " | ".join(r.reviews), " | ".join(r.tampering)])


def _progress(stream, done: int, total: int, started: float) -> None:
    if stream is None:
        return
    width = 30
    filled = int(width * done / total)
    elapsed = time.monotonic() - started
    stream.write(f"\rgrading [{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {elapsed:5.0f} s")
    if done == total:
        stream.write("\n")
    stream.flush()
