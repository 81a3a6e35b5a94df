"""The trusted checks of each assignment (see :mod:`regcourse.grading.trusted`).

Each module names the functions of one exercise contract (CONTRIBUTING.md) and holds

- ``make_inputs(rng)``: fresh test inputs, as arrays;
- ``BODY``: the probe, run in the student's kernel and, separately, on the reference
  solutions; it calls ``call(name, function, *args)`` and ``save(name, value)``;
- ``CHECKS``: for every graded test cell, a rule ``check(student, reference, inputs)``
  that raises :class:`~regcourse.grading.trusted.Wrong` when the student's outputs are
  not what the cell tests;
- ``UPSTREAM``: for a test cell of a function built on earlier ones, those functions
  (see :mod:`regcourse.grading.upstream`);
- ``HINTS``: the likely cause behind each symptom its cells report
  (see :mod:`regcourse.grading.hints`).

Tolerances are never tighter than the notebook's own tests, so a correct answer that
passes those passes these.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def spec(assignment: str) -> ModuleType:
    """The checks module of ``assignment``."""
    if not assignment.isidentifier():
        raise ValueError(f"not an assignment id: {assignment!r}")
    try:
        return importlib.import_module(f"{__name__}.{assignment}")
    except ModuleNotFoundError:
        raise ValueError(f"no trusted checks for the assignment {assignment!r}") from None
