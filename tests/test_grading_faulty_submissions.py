"""Class grading survives faulty submissions: every one gets an exact score and a reason,
and none of them aborts the batch or touches another student's grade."""

import copy
import subprocess
import sys

import pytest

import submissions as sub
from regcourse.grading.batch import grade_class
from regcourse.grading.grader import Grader
from regcourse.sandbox.slots import Limits
from regcourse.authoring.notebooks import REPO

AID = "l2"
FULL, MAX = 13.0, 15.0   # the automatic points, and those with the written answer (pending)
# 10 s per cell: short enough for the endless loops, long enough for `import torch` on a
# busy machine (the whole suite runs in parallel)
LIMITS = Limits(cell_seconds=10, submission_seconds=120)

LOOP = "def shrinkage_factors(X, lam):\n    while True:\n        pass"
DEAF_LOOP = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
             "def l2_grad(w, lam):\n    return lam * w\nwhile True:\n    pass")
DIES = "def l2_grad(w, lam):\n    import os\n    os._exit(1)"
MEMORY_BOMB = "def l2_grad(w, lam):\n    hog = bytearray(64 * 2**30)  # 64 GiB\n    return lam * w"
SHOUTS = ("print('x' * 30_000_000)\n"
          "def l2_grad(w, lam):\n    return lam * w")
UNRELATED = "def l2_grad(w, lam):\n    return lam * w\n\nraise RuntimeError('an experiment of mine that fails')"


def _other_kernel():
    nb = sub.solution(AID)
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    return nb


# student -> (submission, expected score, words the reasons must contain)
CATALOGUE = {
    "correct": (sub.solution(AID), FULL, ""),
    "malformed-json": (sub.NOT_JSON, 0.0, "not valid JSON"),
    "json-but-not-a-notebook": (sub.NOT_A_NOTEBOOK, 0.0, "not a Jupyter notebook"),
    "binary-file": (sub.BINARY, 0.0, "not valid JSON"),
    "renamed-notebook": (("l2 (final version).ipynb", sub.solution(AID)), FULL, "named l2 (final version).ipynb"),
    "missing-notebook": (None, 0.0, "no notebook was submitted"),
    "deleted-test-cell": (sub.without_cell(sub.solution(AID), "test_ridge_fit"), FULL, ""),
    "duplicated-cell": (sub.duplicated(sub.solution(AID), "ridge_fit"), FULL, "appeared more than once"),
    "duplicated-grade-id": (sub.duplicated(sub.solution(AID), "test_l2_grad", relabel="test_l2_penalty"),
                            FULL, "appeared more than once"),
    "edited-test-cells": (sub.tests_replaced(sub.exercise(AID)), 0.0, ""),
    "endless-loop": (sub.with_function(AID, "shrinkage_factors", LOOP), FULL - 2, "ran longer than its time limit of 2 s"),
    "endless-loop-ignoring-interrupts": (sub.with_function(AID, "l2_grad", DEAF_LOOP), 2.0,
                                         "did not stop when interrupted"),
    "kernel-dies": (sub.with_function(AID, "l2_grad", DIES), 2.0, "kernel died"),
    "memory-bomb": (sub.with_function(AID, "l2_grad", MEMORY_BOMB), FULL - 0.5, "MemoryError"),
    "huge-output": (sub.with_function(AID, "l2_grad", SHOUTS), FULL, ""),
    "other-kernel": (_other_kernel(), FULL, "kernel 'ir'"),
    "unrelated-exception": (sub.with_function(AID, "l2_grad", UNRELATED), FULL, ""),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class") / "course"
    course = sub.class_folder(root, AID, {s: copy.deepcopy(v[0]) for s, v in CATALOGUE.items()})
    results = grade_class(course.root, AID, jobs=2, limits=LIMITS, progress=None)
    return course, {r.student: r for r in results}


@pytest.mark.parametrize("student", CATALOGUE)
def test_faulty_submission_gets_its_exact_score_and_reason(student, graded):
    course, results = graded
    _, expected, reason = CATALOGUE[student]
    r = results[student]
    said = " | ".join(r.problems + [i.message for i in r.items])
    assert r.score == expected, f"{student}: {r.score} instead of {expected}: {said}"
    assert r.max_score == MAX and r.pending_points == MAX - FULL
    assert reason.lower() in said.lower(), f"{student}: the reasons do not say {reason!r}: {said}"
    # the gradebook holds exactly what the report says
    scores = {s.grade_id: s.score for s in course.scores(AID, student)}
    assert scores == {i.grade_id: i.score for i in r.items}


def test_kernel_death_keeps_the_points_of_the_cells_that_ran(graded):
    _, results = graded
    items = {i.grade_id: i for i in results["kernel-dies"].items}
    assert items["test_l2_penalty"].passed and items["test_l2_penalty_rejects_negative_lam"].passed
    assert "kernel died" in items["test_l2_grad"].message
    assert "not run" in items["test_ridge_fit"].message


def test_huge_output_is_capped_in_bytes(graded):
    course, _ = graded
    path = course.autograded_path("huge-output", AID)
    assert path.stat().st_size < 3 * LIMITS.output_bytes
    assert "output truncated" in path.read_text()


def test_grades_csv_lists_every_student(graded):
    course, results = graded
    lines = (course.root / "grades.csv").read_text().splitlines()
    assert lines[0].startswith("student,assignment,score,max_score,pending,status,test_l2_penalty")
    assert len(lines) == 1 + len(CATALOGUE)
    assert any(line.startswith("kernel-dies,l2,2,15,2,graded,") for line in lines)
    assert all(line.split(",")[lines[0].split(",").index("question_shrinkage")] == "pending" for line in lines[1:])


@pytest.mark.tier2
def test_a_grading_out_of_time_is_tried_once_more_and_says_where_it_stopped(tmp_path):
    """A busy machine can make a notebook miss the submission's wall clock: the grader grades
    it a second time before calling it out of time, and says where each try stopped."""
    sleeper = sub.with_function("warmup", "regularized_cost",
                                "import time\n\ndef regularized_cost(X, y, w, lam):\n    return 0.0\n\ntime.sleep(600)")
    limits = Limits(cell_seconds=300, submission_seconds=20)
    with Grader(REPO / "solutions", REPO / "nbgrader_config.py", assignments=["warmup"], limits=limits,
                workdir=tmp_path / "grader") as grader:
        r = grader.grade(sub.write(sleeper, tmp_path / "warmup.ipynb"), "warmup").result
    said = " | ".join(r.notes + r.problems)
    assert r.score == 0 and all(i.message == "not graded: time limit" for i in r.items if not i.pending), said
    assert r.notes[0].startswith("graded a second time: the first try ran out of its 20 s, "
                                 "while running cell regularized_cost (for "), said
    assert any(p.startswith("grading stopped after the time limit of 20 s, while running cell regularized_cost")
               for p in r.problems), said


@pytest.mark.tier2
def test_an_endless_loop_in_a_cold_kernel_has_the_cold_floor(tmp_path):
    """A kernel started cold pays its one-time costs (imports, a first optimizer step) in
    whichever cell first needs them, so its test cells keep the longer floor; the catalogue
    above (forked kernels) shows the short one."""
    loop, expected, _ = CATALOGUE["endless-loop"]
    limits = Limits(cell_seconds=30, submission_seconds=200)   # a cap above the cold floor
    with Grader(REPO / "solutions", REPO / "nbgrader_config.py", assignments=[AID], limits=limits,
                workdir=tmp_path / "grader", cold=True) as grader:
        r = grader.grade(sub.write(copy.deepcopy(loop), tmp_path / f"{AID}.ipynb"), AID).result
    said = " | ".join(i.message for i in r.items)
    assert r.score == expected, said
    assert f"ran longer than its time limit of {limits.cold_min_seconds:g} s (" in said, said
    assert f"at least {limits.cold_min_seconds:g} s)" in said and limits.cold_min_seconds > limits.min_seconds, said


def test_nbgrader_s_metadata_check_fails_as_before_and_checks_its_schema_once(monkeypatch):
    """The grader makes nbgrader's cell metadata validation check its schema once instead
    of before every cell: a cell with metadata nbgrader refuses (points that are not a
    number) fails with jsonschema's own error, and a valid one passes."""
    import jsonschema
    from nbgrader.nbgraderformat import MetadataValidator

    from regcourse.authoring.notebooks import graded_cells, read
    from regcourse.grading.course import check_metadata_schema_once

    check_metadata_schema_once()
    validator = MetadataValidator()
    cell = next(graded_cells(read(REPO / "solutions" / AID / f"{AID}.ipynb")))
    bad = copy.deepcopy(cell)
    bad.metadata["nbgrader"]["points"] = "ten"
    with pytest.raises(jsonschema.ValidationError) as plain:
        jsonschema.validate(bad.metadata["nbgrader"], validator.schema)
    schema_class = jsonschema.validators.validator_for(validator.schema)
    checks = []
    monkeypatch.setattr(schema_class, "check_schema", classmethod(lambda cls, schema, **kw: checks.append(schema)))
    for _ in range(3):
        validator.validate_cell(cell)
    with pytest.raises(jsonschema.ValidationError) as ours:
        validator.validate_cell(bad)
    assert ours.value.message == plain.value.message and "'ten'" in ours.value.message
    assert checks == [validator.schema], f"the schema was checked {len(checks)} times"
    # the classroom's nbgrader does the same once its course configuration is loaded
    probe = ("from nbgrader.nbgraderformat import common\n"
             "before = type(common.jsonschema).__name__\n"
             "from regcourse.grading.nbgrader_hook import autograde_preprocessors\n"
             "autograde_preprocessors()\n"
             "print(before, type(common.jsonschema).__name__)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["module", "_SchemaCheckedOnce"], done.stderr


def test_an_endless_adam_step_costs_its_own_points_only_and_never_looks_forged(grader, tmp_path):
    """A looping adam_step once held weight_decay's trusted check (which stepped Adam
    without a time limit per call) until the probe cell's timeout, 250 s, and the probe,
    stopped in the middle of a write, left a torn file that called the honest submission
    forged. Now the check stops calling it after its time limit, and all it costs is the
    points of its own cell."""
    import nbformat

    loop = ("def adam_step(w, grad, state, lr, lam=0.0, betas=(0.9, 0.999), eps=1e-8):\n"
            "    while True:\n        pass")
    path = tmp_path / "weight_decay.ipynb"
    nbformat.write(sub.with_function("weight_decay", "adam_step", loop), str(path))
    r = grader.grade(path, "weight_decay", "looping").result
    assert {i.grade_id for i in r.items if not (i.passed or i.pending)} == {"test_adam_step"}, r.to_json()
    assert not r.tampering and not r.reviews, r.to_json()
    assert "ran longer than its time limit" in next(i.message for i in r.items if i.grade_id == "test_adam_step")
    assert r.seconds < 60, r.seconds
