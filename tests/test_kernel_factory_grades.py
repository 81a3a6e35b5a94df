"""Warm kernels change nothing but the time: the fairness and honest catalogues, graded as a
class with kernels forked from the factory and again with every kernel started cold, get
the same points, verdicts and notes in every test cell."""

from __future__ import annotations

import re

import pytest

import submissions as sub
import test_fairness_dropout
import test_fairness_l1
import test_fairness_l2
import test_fairness_warmup
import test_fairness_weight_decay
from regcourse.grading import grader as grader_module
from regcourse.grading.classroom import grade_class
from test_grading_honest import CATALOGUE as HONEST

FAIRNESS = {"warmup": test_fairness_warmup.MUTANTS, "l2": test_fairness_l2.MUTANTS,
            "l1": test_fairness_l1.MUTANTS, "weight_decay": test_fairness_weight_decay.MUTANTS,
            "dropout": test_fairness_dropout.MUTANTS}


def catalogue(aid: str) -> dict:
    """Student id -> notebook, for every fairness mutant and honest answer of ``aid``."""
    mutants = list(FAIRNESS[aid]) + [m for a, m in HONEST if a == aid]
    students = {}
    for m in mutants:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", m.name).strip("-")[:50]
        while slug in students:
            slug += "-again"
        students[slug] = m.notebook(aid)
    return students


def summary(result) -> tuple:
    return (result.status, result.score, tuple((i.grade_id, i.score, i.verdict) for i in result.items),
            tuple(result.problems), tuple(result.tampering), tuple(result.reviews), tuple(result.notes))


@pytest.mark.parametrize("aid", list(FAIRNESS))
def test_warm_and_cold_kernels_give_the_same_grades(aid, tmp_path, monkeypatch):
    students = catalogue(aid)
    assert len(students) >= 5
    # one secret seed for both gradings: the trusted checks draw the same fresh inputs
    monkeypatch.setattr(grader_module.secrets, "randbits", lambda bits: 20261129)
    graded = {}
    for mode, cold in (("warm", False), ("cold", True)):
        course = sub.class_folder(tmp_path / mode / "course", aid, students)
        results = grade_class(course.root, aid, jobs=2, progress=None, cold=cold)
        graded[mode] = {r.student: summary(r) for r in results}
    assert graded["warm"].keys() == graded["cold"].keys() == students.keys()
    differ = {s: (graded["warm"][s], graded["cold"][s]) for s in students if graded["warm"][s] != graded["cold"][s]}
    assert not differ, f"warm and cold kernels graded differently: {differ}"
