"""How long grading takes: one submission against plain execution of the same notebook,
and a generated class (60 submissions by default) with one and with two worker processes."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from regcourse.grading.classroom import grade_class
from regcourse.grading.course import Course
from regcourse.grading.grader import Grader
from regcourse.notebooks import REPO, read, released_notebook, source_notebook, with_cell_source

from .notebooks import execute

ONE = "l2"       # the single-submission comparison: a notebook with torch, like most
CLASS = "l1"     # the generated class
CLASS_SIZE = 60  # what the budget is measured on


def _median(f, repeats):
    runs = []
    for i in range(repeats):
        started = time.perf_counter()
        f(i)
        runs.append(time.perf_counter() - started)
    return round(statistics.median(runs), 2), [round(r, 2) for r in runs]


def one_submission(repeats: int) -> dict:
    path = source_notebook(ONE)
    started = time.perf_counter()
    grader = Grader(REPO / "solutions", REPO / "nbgrader_config.py", assignments=[ONE])
    setup = time.perf_counter() - started
    try:
        started = time.perf_counter()
        grader._start_reference(ONE)
        grader._reference(ONE)
        reference = time.perf_counter() - started
        plain_course = grader.template.clone(grader.workdir / "plain-nbgrader")

        def plain(i):
            execute(nbformat.read(str(path), as_version=4), path.parent)

        def nbgrader_alone(i):
            plain_course.submit(f"n{i}", ONE, path)
            assert plain_course.autograde(ONE, f"n{i}")["success"]

        def ours(i):
            result = grader.grade(path, ONE, f"g{i}").result
            assert result.score == result.max_score - result.pending_points and not result.tampering, result.table()

        plain_s, plain_runs = _median(plain, repeats)
        nbgrader_s, nbgrader_runs = _median(nbgrader_alone, repeats)
        ours_s, ours_runs = _median(ours, repeats)
    finally:
        grader.close()
    out = {"assignment": ONE, "plain_execution_s": plain_s, "nbgrader_autograde_s": nbgrader_s,
           "regcourse_grade_s": ours_s, "runs": {"plain": plain_runs, "nbgrader": nbgrader_runs, "regcourse": ours_runs},
           "overhead_vs_plain": round(ours_s / plain_s, 2), "overhead_vs_nbgrader": round(ours_s / nbgrader_s, 2),
           "grader_setup_s": round(setup, 2), "reference_run_s": round(reference, 2)}
    print(f"  one {ONE} submission: plain {plain_s} s, nbgrader autograde {nbgrader_s} s, "
          f"regcourse {ours_s} s ({out['overhead_vs_plain']}x plain)", flush=True)
    return out


def generated_class(size: int = CLASS_SIZE) -> dict[str, object]:
    """``size`` submissions: half correct, a third partly wrong, the rest broken."""
    solution, exercise = read(source_notebook(CLASS)), read(released_notebook(CLASS))
    wrong = [
        ("soft_threshold", "def soft_threshold(w, t):\n    return np.sign(w) * (np.abs(w) - t)"),
        ("sparsity", "def sparsity(w, atol=0.0):\n    return float(np.mean(np.abs(w) > atol))"),
        ("l1_penalty", "def l1_penalty(params, lam):\n    return 0.0"),
        ("lasso_ista", "def lasso_ista(X, y, lam, n_iter=1000):\n    return np.zeros(X.shape[1])"),
    ]
    broken = [b'{"cells": [', exercise,
              with_cell_source(solution, "l1_penalty", "import os\nos._exit(1)"),
              with_cell_source(solution, "sparsity", "def sparsity(w, atol=0.0):\n    while True:\n        pass")]
    submissions: dict[str, object] = {}
    for i in range(size):
        if i < size // 2:
            submissions[f"s{i:02d}"] = solution
        elif i < size * 5 // 6:
            submissions[f"s{i:02d}"] = with_cell_source(solution, *wrong[i % len(wrong)])
        else:
            submissions[f"s{i:02d}"] = broken[i % len(broken)]
    return submissions


def _class_folder(root: Path, submissions: dict) -> Course:
    course = Course.create(root, REPO / "solutions", REPO / "nbgrader_config.py", [CLASS])
    for student, content in submissions.items():
        target = course.submission_path(student, CLASS)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            nbformat.write(content, str(target))
    return course


def grade_generated_class(size: int = CLASS_SIZE) -> dict:
    from regcourse.grading.sandbox import Limits

    submissions = generated_class(size)
    limits = Limits(cell_seconds=10, submission_seconds=120)
    timings, grades = {}, {}
    with tempfile.TemporaryDirectory(prefix="regcourse-bench-class-") as tmp:
        for jobs in (1, 2):
            course = _class_folder(Path(tmp) / f"jobs{jobs}", submissions)
            started = time.perf_counter()
            results = grade_class(course.root, CLASS, jobs=jobs, limits=limits, progress=None)
            timings[jobs] = round(time.perf_counter() - started, 1)
            grades[jobs] = {r.student: r.score for r in results}
            print(f"  class of {size} with {jobs} worker(s): {timings[jobs]} s", flush=True)
    return {"assignment": CLASS, "size": size, "seconds": {str(k): v for k, v in timings.items()},
            "per_minute": {str(k): round(60 * size / v, 1) for k, v in timings.items()},
            "speedup": round(timings[1] / timings[2], 2), "same_grades": grades[1] == grades[2]}


def run(repeats: int = 3) -> dict:
    return {"one": one_submission(repeats), "class": grade_generated_class()}
