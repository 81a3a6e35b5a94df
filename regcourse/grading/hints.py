"""The likely cause behind each symptom a test cell reports: the second tier of feedback.

A failing cell's message is the symptom ("l2_penalty([3, 4], lam=2) returned 50: the
factor 1/2 is missing"). Grading again with ``--hint`` adds the likely cause, written
for the mistakes the graders' own catalogues know (``tests/test_fairness_*.py`` and
``tests/test_grading_honest.py``; a test checks that every catalogued mistake finds its
hint). A hint names a cause and where the chapter explains it; it never shows a test.
Each exercise's hints live beside its trusted checks, in ``checks/<id>.py`` (``HINTS``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Hint:
    cells: str        # regular expression matched against the graded cell's grade_id
    symptom: str      # regular expression searched in the cell's message
    cause: str


def hint_for(assignment: str, grade_id: str, message: str) -> str:
    """The likely cause of the failure ``message`` of cell ``grade_id``, or ''."""
    from .checks import spec

    try:
        hints = spec(assignment).HINTS
    except ValueError:   # an assignment without checks has no hints either
        return ""
    for hint in hints:
        if re.search(hint.cells, grade_id) and re.search(hint.symptom, message):
            return hint.cause
    return ""
