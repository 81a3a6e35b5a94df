"""Warm kernels change nothing but the time: the fairness and honest catalogues, graded
once with kernels forked from the factory (the gradings every fairness and honesty test
reads), and once more with every kernel started cold on the same secret inputs, get the
same points, verdicts and notes in every test cell.

Grading every catalogue again cold is the second tier (`make test-all`); the first tier's
gradings are warm."""

from __future__ import annotations

import pytest

import catalogues
import test_fairness_augmentation
import test_fairness_dropout
import test_fairness_l1
import test_fairness_l2
import test_fairness_warmup
import test_fairness_weight_decay
from fairness import graded_entries
from test_grading_honest import FIRST_TIER, SECOND_TIER, entries as honest_entries

FAIRNESS = {"warmup": test_fairness_warmup.MUTANTS, "l2": test_fairness_l2.MUTANTS,
            "l1": test_fairness_l1.MUTANTS, "weight_decay": test_fairness_weight_decay.MUTANTS,
            "dropout": test_fairness_dropout.MUTANTS, "augmentation": test_fairness_augmentation.MUTANTS}


def summary(result) -> tuple:
    return (result.status, result.score, tuple((i.grade_id, i.score, i.verdict) for i in result.items),
            tuple(result.problems), tuple(result.tampering), tuple(result.reviews), tuple(result.notes))


def compare_warm_and_cold(aid: str, kinds: dict) -> None:
    warm = {(kind, s): r for kind, catalogue in kinds.items()
            for s, (_, r) in graded_entries(kind, aid, catalogue).items()}
    assert len(warm) >= 5
    notebooks = {f"{kind}-{s}": m.notebook(aid) for kind, catalogue in kinds.items()
                 for s, (m, _) in graded_entries(kind, aid, catalogue).items()}
    cold = catalogues.graded(f"{'-'.join(kinds)}-{aid}", aid, notebooks, cold=True)
    differ = {key: (summary(r), summary(cold[f"{key[0]}-{key[1]}"])) for key, r in warm.items()
              if summary(r) != summary(cold[f"{key[0]}-{key[1]}"])}
    assert not differ, f"warm and cold kernels graded differently {catalogues.seed_note()}: {differ}"


@pytest.mark.tier2
@pytest.mark.parametrize("aid", list(FAIRNESS))
def test_warm_and_cold_kernels_give_the_same_grades(aid):
    kinds = {"fairness": FAIRNESS[aid], "honest": honest_entries(aid, FIRST_TIER),
             "honest-second": honest_entries(aid, SECOND_TIER)}
    compare_warm_and_cold(aid, {kind: entries for kind, entries in kinds.items() if entries})
