"""`regcourse autograde`: parallel grading gives the sequential grades, and re-grading
replaces a student's grades and autograded notebook completely."""

import subprocess
import sys

import pytest

import submissions as sub
from regcourse.grading.classroom import grade_class
from regcourse.grading.sandbox import Limits

AID = "warmup"
WRONG_HALF = ("def regularized_cost(X, y, w, lam):\n    if lam < 0:\n        raise ValueError(lam)\n"
              "    r = X @ w - y\n    return float(r @ r + 0.5 * lam * w @ w)")
CLASS = {
    "ada": sub.solution(AID),
    "bob": sub.exercise(AID),
    "cy": sub.with_function(AID, "regularized_cost", WRONG_HALF),
    "dee": sub.NOT_JSON,
    "eve": sub.with_function(AID, "regularized_cost", "import os\nos._exit(3)"),
}
EXPECTED = {"ada": 3.0, "bob": 0.0, "cy": 1.0, "dee": 0.0, "eve": 0.0}


def _grades(course):
    return {s: [(x.grade_id, x.score) for x in course.scores(AID, s)] for s in CLASS}


@pytest.mark.tier2
def test_parallel_grading_gives_the_sequential_grades(tmp_path):
    sequential = sub.class_folder(tmp_path / "one", AID, CLASS)
    parallel = sub.class_folder(tmp_path / "two", AID, CLASS)
    one = {r.student: r for r in grade_class(sequential.root, AID, jobs=1, progress=None)}
    two = {r.student: r for r in grade_class(parallel.root, AID, jobs=2, progress=None)}
    assert {s: r.score for s, r in one.items()} == EXPECTED
    assert {s: [(i.grade_id, i.score, i.message) for i in r.items] for s, r in one.items()} == \
           {s: [(i.grade_id, i.score, i.message) for i in r.items] for s, r in two.items()}
    assert _grades(sequential) == _grades(parallel)
    assert (sequential.root / "grades.csv").read_text() == (parallel.root / "grades.csv").read_text()


@pytest.mark.tier2
def test_regrading_replaces_everything_even_when_the_new_submission_fails(tmp_path):
    course = sub.class_folder(tmp_path / "course", AID, {"ada": sub.solution(AID), "bob": sub.solution(AID)})
    grade_class(course.root, AID, jobs=1, progress=None)
    assert course.autograded_path("ada", AID).exists()
    assert sum(s.score for s in course.scores(AID, "ada")) == 3

    # ada resubmits a file that cannot be graded at all; bob is not re-graded
    sub.write(sub.NOT_JSON, course.submission_path("ada", AID))
    grade_class(course.root, AID, jobs=1, students=["ada"], progress=None)
    assert [s.score for s in course.scores(AID, "ada")] == [0.0, 0.0]
    assert not course.autograded_path("ada", AID).exists(), "a stale autograded notebook survived"
    assert sum(s.score for s in course.scores(AID, "bob")) == 3, "another student's grades changed"
    with course.gradebook() as gb:
        assert len(gb.find_student("ada").submissions) == 1


@pytest.mark.tier2
def test_command_line_prints_a_line_per_student(tmp_path):
    course = sub.class_folder(tmp_path / "course", AID, {"ada": sub.solution(AID), "bob": sub.NOT_JSON})
    done = subprocess.run([sys.executable, "-m", "regcourse.cli", "autograde", AID, "--jobs", "2", "--quiet"],
                          cwd=course.root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "ada  3 / 3" in done.stdout and "bob  0 / 3  (see notes)" in done.stdout
    assert "2 submissions graded" in done.stdout


def test_command_line_refuses_a_folder_that_is_not_a_course(tmp_path):
    done = subprocess.run([sys.executable, "-m", "regcourse.cli", "autograde", AID], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "not an nbgrader course folder" in done.stderr


def test_limits_come_from_the_command_line():
    from regcourse.cli import _limits, parser

    args = parser().parse_args(["autograde", "l2", "--cell-timeout", "7", "--time-limit", "90",
                                "--memory-mb", "512", "--output-kb", "64"])
    assert _limits(args) == Limits(memory_bytes=512 << 20, cell_seconds=7, submission_seconds=90,
                                   output_bytes=64 << 10)
