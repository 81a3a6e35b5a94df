"""Written answers are graded by the instructor: a self-grading shows their points as
pending, never as lost; a class keeps them waiting for manual grading, with the rubric
beside the answer for the grader and out of the learner's feedback. Lost points come
with the smallest failing example, and with their likely cause on request (--hint)."""

import copy
import csv
import json
import re
import subprocess
import sys

import pytest

import submissions as sub
from regcourse.grading.batch import grade_class
from regcourse.authoring.notebooks import nbgrader_meta, read, source_notebook, written_answers

REGCOURSE = [sys.executable, "-m", "regcourse.cli"]
LISTS_ONLY = ("def l2_penalty(params, lam):\n    if lam < 0:\n        raise ValueError('lam < 0')\n"
              "    if isinstance(params, list):\n        return float(sum(0.5 * lam * np.sum(p ** 2) for p in params))\n"
              "    return float(0.5 * lam * np.sum(params ** 2))")


def grade(*args):
    return subprocess.run([*REGCOURSE, "grade", *map(str, args)], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("aid", ["l2", "l1", "weight_decay", "dropout"])
def test_every_chapter_exercise_has_a_written_answer_with_a_rubric(aid):
    answers = list(written_answers(read(source_notebook(aid))))
    assert answers, f"{aid} has no written answer"
    for cell in answers:
        assert nbgrader_meta(cell)["points"] > 0 and "Rubric" in cell.source


@pytest.mark.tier2
def test_self_grading_shows_written_answers_as_pending_not_lost(tmp_path):
    solved = sub.write(sub.solution("l2"), tmp_path / "solved" / "l2.ipynb")
    untouched = sub.write(sub.exercise("l2"), tmp_path / "untouched" / "l2.ipynb")
    for notebook, earned in [(solved, 13.0), (untouched, 0.0)]:
        done = grade(notebook, "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        written = [i for i in report["items"] if i["grade_id"] == "question_shrinkage"]
        assert written and written[0]["verdict"] == "pending" and written[0]["score"] == 0
        assert "graded by your instructor" in written[0]["message"]
        assert report["score"] == earned and report["pending"] == 2 and report["max_score"] == 15
        page = open(report["feedback"]).read()
        assert "pending, not lost" in page
    table = grade(untouched).stdout
    assert re.search(r"^question_shrinkage +pending  a written answer: graded by your instructor$", table, re.M), table
    assert "2 points of written answers are graded by your instructor" in table


@pytest.mark.tier2
def test_hints_are_the_second_tier_and_examples_the_first(tmp_path):
    notebook = sub.write(sub.with_function("l2", "l2_penalty", LISTS_ONLY), tmp_path / "l2.ipynb")
    first = grade(notebook)
    assert first.returncode == 0, first.stderr
    assert "smallest failing example: l2_penalty((np.array([1.0]), np.array([2.0])), 1.0) raised TypeError" in first.stdout
    assert "likely cause:" not in first.stdout and "grade again with --hint" in first.stdout
    report = json.loads(grade(notebook, "--json").stdout)
    assert all(i["hint"] == "" for i in report["items"])
    second = grade(notebook, "--hint")
    assert "likely cause: A tuple is a sequence of arrays like a list" in second.stdout
    page = (tmp_path / "l2-feedback.html").read_text()
    assert "Likely cause" in page and "Smallest failing example" in page


@pytest.fixture(scope="module")
def class_graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("written") / "course"
    answered = copy.deepcopy(sub.exercise("l2"))
    for cell in answered.cells:
        if nbgrader_meta(cell).get("grade_id") == "question_shrinkage":
            cell.source = "Ridge shrinks the directions with small eigenvalues most; no factor is zero."
    course = sub.class_folder(root, "l2", {"ana": answered})
    results = grade_class(course.root, "l2", jobs=1, progress=None)
    return course, results[0]


def test_a_class_keeps_written_answers_for_manual_grading(class_graded):
    course, result = class_graded
    with course.gradebook() as gb:
        grade = gb.find_grade("question_shrinkage", "l2", "l2", "ana")
        assert grade.needs_manual_grade and grade.auto_score is None
        tests = [g for g in gb.find_submission_notebook("l2", "l2", "ana").grades if g.name != "question_shrinkage"]
        assert tests and not any(g.needs_manual_grade for g in tests)
    with open(course.root / "grades.csv", newline="") as f:
        row = next(csv.DictReader(f))
    assert row["question_shrinkage"] == "pending" and row["pending"] == "2"


def test_the_grader_sees_the_rubric_beside_the_answer_and_the_learner_does_not(class_graded):
    course, _ = class_graded
    autograded = read(course.autograded_path("ana", "l2"))
    ids = [c.get("id") for c in autograded.cells]
    answer = next(i for i, c in enumerate(autograded.cells) if nbgrader_meta(c).get("grade_id") == "question_shrinkage")
    assert ids[answer + 1] == "regcourse-rubric-question_shrinkage"
    assert "Rubric (2 points)" in autograded.cells[answer + 1].source
    # the instructor grades the answer by hand, then releases feedback with nbgrader
    with course.gradebook() as gb:
        grade = gb.find_grade("question_shrinkage", "l2", "l2", "ana")
        grade.manual_score = 1.5
        gb.db.commit()
    outcome = course.api().generate_feedback("l2", "ana")
    assert outcome["success"], outcome.get("log")
    page = (course.root / "feedback" / "ana" / "l2" / "l2.html").read_text()
    assert "no factor is zero" in page                      # the learner's own answer
    assert "Rubric (2 points)" not in page and "Model answer" not in page
    assert "cdnjs" not in page and "<math" in page          # equations drawn offline
    assert "Written response</a> (Score: 1.5 / 2.0)" in page and "Pending:" not in page
    # the grading report, written while the answer was pending, now counts it
    assert "Grading report: 1.5 / 15 points" in page and "graded by your instructor" in page
    assert "they are pending, not lost" not in page
