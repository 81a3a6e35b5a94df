"""The scoring policy (regcourse.grading.verdicts), case by case, without grading anything:
each mistake is charged as what it is, an honest disagreement is never called tampering,
and evidence of an attack costs every automatic point."""

from regcourse.grading.report import FAILED, PASSED, PENDING, REVIEW, TAMPERING, Item, Result
from regcourse.grading.verdicts import CHECK_STOPPED, NO_CHECK, evidence, judge


def result() -> Result:
    """Three test cells (the first two passed their own tests) and a written answer."""
    return Result("l2", "ana", items=[
        Item("test_a", 3.0, 3.0), Item("test_b", 2.0, 2.0),
        Item("test_c", 0.0, 1.0, message="AssertionError: wrong sign"),
        Item("question", 0.0, 2.0, verdict=PENDING)])


def verdicts(r: Result) -> dict[str, tuple[float, str]]:
    return {i.grade_id: (i.score, i.verdict) for i in r.items}


def test_cells_keep_their_points_only_when_the_trusted_check_passed_too():
    r = result()
    judge(r, {"test_a": None, "test_b": None, "test_c": None}, [], broken=False)
    assert verdicts(r) == {"test_a": (3.0, PASSED), "test_b": (2.0, PASSED), "test_c": (0.0, FAILED),
                           "question": (0.0, PENDING)}
    assert r.reviews == [] and r.tampering == []
    assert r.items[2].message == "AssertionError: wrong sign"   # its own test's message stays


def test_a_passed_test_the_check_disagrees_with_is_an_honest_review():
    r = result()
    judge(r, {"test_a": "returned 5, expected 4", "test_b": None, "test_c": None}, [], broken=False)
    assert verdicts(r)["test_a"] == (0.0, REVIEW) and verdicts(r)["test_b"] == (2.0, PASSED)
    assert "returned 5, expected 4" in r.items[0].message and "tamper" not in r.items[0].message
    assert len(r.reviews) == 1 and r.reviews[0].startswith("test_a:") and r.tampering == []


def test_a_broken_kernel_turns_a_disagreement_into_a_failure_not_a_review():
    r = result()
    judge(r, {"test_a": "did not run", "test_b": None, "test_c": None}, [], broken=True)
    assert verdicts(r)["test_a"] == (0.0, FAILED) and r.reviews == []
    assert r.items[0].message == "the grader's check on fresh inputs found a mistake: did not run"


def test_a_cell_without_a_trusted_check_keeps_nothing():
    r = result()
    judge(r, {"test_b": None, "test_c": None}, [], broken=False)
    assert verdicts(r)["test_a"] == (0.0, REVIEW) and NO_CHECK in r.items[0].message


def test_evidence_costs_every_automatic_point_and_no_written_answer():
    r = result()
    judge(r, {"test_a": None, "test_b": "returned 5", "test_c": None}, ["the code rebinds np"], broken=False)
    assert verdicts(r) == {"test_a": (0.0, TAMPERING), "test_b": (0.0, TAMPERING), "test_c": (0.0, TAMPERING),
                           "question": (0.0, PENDING)}
    assert r.tampering == ["the code rebinds np"] and r.reviews == []
    assert r.items[0].message.startswith("tampering")   # a point it would have kept
    assert "returned 5" in r.items[1].message         # a mistake it made is still named


def test_evidence_is_gathered_from_every_source_and_a_dead_kernel_is_none():
    found = evidence(["rebinds np"], ["probe-out/x.npy is a link"], ["/course/gradebook.db"],
                     check_ran=True, broken=False)
    assert found == ["the code rebinds np", "the grader's check files were forged: probe-out/x.npy is a link",
                     "the submission changed the grader's files outside its sandbox: /course/gradebook.db"]
    assert evidence([], [], [], check_ran=False, broken=False) == [CHECK_STOPPED]
    assert evidence([], [], [], check_ran=False, broken=True) == []   # a dead kernel runs no check: honest
    assert evidence([], [], [], check_ran=True, broken=False) == []
