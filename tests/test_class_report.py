"""`regcourse report`: what a graded class got wrong, counted exactly, shown safely.

The counting is checked here on results made by hand (every number known in advance);
tests/test_grading_class.py checks it on a class graded by the course's grader."""

from __future__ import annotations

from regcourse.grading.class_report import class_view, keep_result, load_results, page, rows
from regcourse.grading.report import PENDING, Item, Result

HALF = "The data term is 1/2 ||Xw - y||^2: the 1/2 makes its gradient $X^T (Xw - y)$."
TODO = "The function still raises NotImplementedError: replace that line with your code."


def _result(student, cost, lam, written=PENDING, reviews=(), tampering=(), hint="", example=""):
    items = [Item("test_cost", cost, 2, "" if cost == 2 else "wrong <b>cost</b>", hint=hint if cost < 2 else "",
                  example=example),
             Item("test_rejects_lam", lam, 1, "" if lam == 1 else "no ValueError",
                  hint=TODO if hint == TODO and lam < 1 else ""),
             Item("question_why", 0, 2, verdict=written)]
    return Result("warmup", student, items, reviews=list(reviews), tampering=list(tampering))


CLASS = [
    _result("ada", 2, 1),
    _result("bob", 0, 0, hint=TODO),
    _result("cy", 0, 1, hint=HALF, example="cost(X=[[1.0]], y=[2.0], w=[0.0], lam=0) returned 4.0, expected 2.0"),
    _result("gus", 0, 1, hint=HALF, example="cost(X=[[1.0]], y=[2.0], w=[0.0], lam=0) returned 4.0, expected 2.0"),
    _result("dee", 0, 0),
    _result("<img src=x onerror=alert(1)>", 2, 1, reviews=["passed its tests but not the check"]),
    _result("mal", 0, 0, tampering=["the code replaces the grader's comparison"]),
]


def test_the_class_view_counts_exactly():
    graded_by_hand = {("ada", "question_why"), ("bob", "question_why")}
    view = class_view(CLASS, lambda student, gid: (student, gid) not in graded_by_hand)
    assert view.students == 7
    cells = {gid: (sorted(who), lost, most) for gid, who, lost, most in view.cells}
    assert cells == {"test_cost": (["bob", "cy", "dee", "gus", "mal"], 10.0, 2.0),
                     "test_rejects_lam": (["bob", "dee", "mal"], 3.0, 1.0)}
    mistakes = {cause: (cells, who) for cells, cause, who in view.mistakes}
    assert mistakes == {HALF: ("test_cost", ["cy", "gus"]), TODO: ("test_cost, test_rejects_lam", ["bob"])}
    assert view.unexplained == [("test_cost", ["dee", "mal"]), ("test_rejects_lam", ["dee", "mal"])]
    assert view.examples == [("test_cost", CLASS[2].items[0].example, 2)]
    assert view.pending == [("question_why", ["<img src=x onerror=alert(1)>", "cy", "dee", "gus", "mal"])]
    assert [s for s, _ in view.reviews] == ["<img src=x onerror=alert(1)>"]
    assert [s for s, _ in view.tampering] == ["mal"]


def test_the_page_runs_nothing_and_draws_the_maths():
    text = page(class_view(CLASS))
    assert "<img" not in text and "<b>cost" not in text, "a student's name or message is shown as HTML"
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "<script" not in text and "default-src 'none'" in text
    assert "<math" in text, "the equation in a hint is not drawn"
    lines = rows(class_view(CLASS))
    assert ["known mistake", "test_cost", "2", "cy gus", HALF] in lines
    assert ["tampering", "", "1", "mal", "the code replaces the grader's comparison"] in lines


def test_results_are_kept_one_per_student_and_replaced(tmp_path):
    keep_result(tmp_path, _result("ada", 0, 0))
    keep_result(tmp_path, _result("ada", 2, 1))
    keep_result(tmp_path, _result("bob", 0, 0))
    kept = load_results(tmp_path, "warmup")
    assert [(r.student, r.score) for r in kept] == [("ada", 3.0), ("bob", 0.0)]
