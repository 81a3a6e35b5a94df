"""The scoring policy: from what a grading found to each test cell's verdict.

Pure functions of their arguments (no files, no processes), so that the policy can be
read in one place and tested case by case (``tests/test_verdicts.py``):

- a test cell keeps its points only if the grader's trusted check passed too;
- a cell whose own test passed while the trusted check found a wrong value is an honest
  disagreement: it scores 0, says what was wrong, and needs review;
- evidence of an attack is tampering and costs every automatic point.
"""

from __future__ import annotations

from .report import FAILED, REVIEW, TAMPERING, Result

NO_CHECK = "no trusted check exists for this test cell"
CHECK_STOPPED = ("the grader's independent check could not run although the kernel was alive: "
                 "the code stopped or replaced the checking cell")


def evidence(static: list[str], forged: list[str], changed: list[str], check_ran: bool,
             broken: bool) -> list[str]:
    """Every sign of an attack, as sentences: what the static scan found in the code
    (``static``), check files that are not what the probe writes (``forged``), files of the
    grader changed from inside the sandbox (``changed``), and a trusted check that did not
    run although the kernel was alive (``check_ran`` false while not ``broken``)."""
    found = [f"the code {e}" for e in static]
    found += [f"the grader's check files were forged: {f}" for f in forged]
    found += [f"the submission changed the grader's files outside its sandbox: {f}" for f in changed]
    if not check_ran and not broken:
        found.append(CHECK_STOPPED)
    return found


def judge(result: Result, failed: dict[str, str | None], evidence: list[str], broken: bool) -> None:
    """Combine the notebook's scores in ``result`` with the trusted verdicts.

    ``failed`` maps each test cell to None (its trusted check passed) or to what the check
    found wrong; a cell missing from it has no check and keeps nothing. ``broken``: the
    kernel died, hung or ran out of time, so a disagreement is no honest surprise.
    """
    for item in result.items:
        if item.pending:
            continue   # a written answer: nothing automatic to check
        why = failed.get(item.grade_id, NO_CHECK)
        if why is None:
            continue
        if item.passed and not broken and not evidence:
            result.reviews.append(f"{item.grade_id}: the notebook's tests passed, but the grader's "
                                  f"check on fresh inputs did not: {why}")
            item.message = (f"the notebook's tests passed, but the grader's check on fresh inputs "
                            f"found a mistake: {why}")
            item.verdict = REVIEW
        elif item.score > 0:
            item.message = f"the grader's check on fresh inputs found a mistake: {why}"
            item.verdict = FAILED
        item.score = 0.0
    if evidence:
        result.tampering += evidence
        result.reviews.clear()
        for item in (i for i in result.items if not i.pending):
            if item.score > 0 or item.verdict == REVIEW:
                item.message = "tampering: the submission attacks the grader (see the report)"
            item.score = 0.0
            item.verdict = TAMPERING
