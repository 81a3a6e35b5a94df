"""The warm-up grader is fair: wrong answers lose exactly their points, right ones keep all."""

import pytest

from fairness import check_mutant, check_passes_over_seeds, mutant, result_of

VALUE, NEGATIVE = "test_regularized_cost", "test_regularized_cost_rejects_negative_lam"
HEADER = "def regularized_cost(X, y, w, lam):\n"
CHECK = "    if lam < 0:\n        raise ValueError('negative lam')\n"

MUTANTS = [
    mutant("data term without 1/2", "regularized_cost",
           HEADER + CHECK + "    r = X @ w - y\n    return float(r @ r + 0.5 * lam * w @ w)", {VALUE}, "data term is missing its factor 1/2"),
    mutant("penalty without 1/2", "regularized_cost",
           HEADER + CHECK + "    r = X @ w - y\n    return float(0.5 * r @ r + lam * w @ w)", {VALUE}, "penalty is missing its factor 1/2"),
    mutant("mean data term", "regularized_cost",
           HEADER + CHECK + "    r = X @ w - y\n    return float(0.5 * np.mean(r ** 2) + 0.5 * lam * w @ w)", {VALUE}, "mean"),
    mutant("L1 penalty", "regularized_cost",
           HEADER + CHECK + "    r = X @ w - y\n    return float(0.5 * r @ r + lam * np.abs(w).sum())", {VALUE}, "L1"),
    mutant("negative lam accepted", "regularized_cost",
           HEADER + "    r = X @ w - y\n    return float(0.5 * r @ r + 0.5 * lam * w @ w)", {NEGATIVE}, "raise ValueError"),
    mutant("nothing implemented", "regularized_cost",
           HEADER + "    raise NotImplementedError()", {VALUE, NEGATIVE}, "NotImplementedError"),
]


@pytest.mark.parametrize("m", MUTANTS, ids=str)
def test_wrong_answer_loses_exactly_its_points(m):
    check_mutant(result_of("fairness", "warmup", MUTANTS, m), m)


@pytest.mark.tier2
def test_solution_passes_every_test_over_20_seeds():
    check_passes_over_seeds("warmup")
