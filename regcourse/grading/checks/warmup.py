"""Trusted checks of the warm-up: ``regularized_cost``."""

import numpy as np

from ..hints import Hint
from ..trusted import close, raised

CASES = [(40, 8), (5, 20), (1, 1)]
LAMS = [0.0, 0.3, 50.0]


def make_inputs(rng):
    inputs = {}
    for k, (n, d) in enumerate(CASES):
        inputs[f"X{k}"] = rng.standard_normal((n, d))
        inputs[f"y{k}"] = rng.standard_normal(n)
        inputs[f"w{k}"] = rng.standard_normal(d)
    inputs["lams"] = np.array(LAMS)
    return inputs


BODY = """
lams = load("lams")
for k in range(3):
    X, y, w = load(f"X{k}"), load(f"y{k}"), load(f"w{k}")
    for j, lam in enumerate(lams):
        value = call(f"cost_{k}_{j}", "regularized_cost", X, y, w, float(lam))
        if value is not None:
            save(f"cost_{k}_{j}", float(value))
call("negative", "regularized_cost", load("X0"), load("y0"), load("w0"), -1.0)
"""


def check_cost(student, reference, inputs):
    for k in range(len(CASES)):
        for j in range(len(LAMS)):
            close(student, reference, f"cost_{k}_{j}", rtol=1e-9, atol=1e-12,
                  what=f"regularized_cost(X, y, w, {LAMS[j]}) with X of shape {CASES[k]}")


def check_negative(student, reference, inputs):
    raised(student, "negative", "ValueError", "regularized_cost(X, y, w, -1.0)")


# Small public calls whose results feedback shows when the cell fails: the smallest
# failing example (each list from the smallest input up).
EXAMPLES = {
    "test_regularized_cost": [
        "regularized_cost(np.array([[1.0]]), np.array([0.0]), np.array([2.0]), 0.0)",
        "regularized_cost(np.array([[1.0]]), np.array([0.0]), np.array([2.0]), 1.0)",
        "regularized_cost(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([1.0, 0.0, 0.0]), np.array([1.0, 1.0]), 1.0)",
    ],
    "test_regularized_cost_rejects_negative_lam": [
        "regularized_cost(np.ones((1, 1)), np.ones(1), np.ones(1), 1.0)",
        "regularized_cost(np.ones((1, 1)), np.ones(1), np.ones(1), -1.0)",
    ],
}


CHECKS = {
    "test_regularized_cost": check_cost,
    "test_regularized_cost_rejects_negative_lam": check_negative,
}


# The likely cause behind each symptom of this exercise's test cells (see
# regcourse.grading.hints): the first hint that matches a failing cell is shown.
HINTS = [
    Hint("test_regularized_cost$", r"data term is missing its factor 1/2|both terms are missing",
         "The data term is 1/2 ||Xw - y||^2: the 1/2 makes its gradient X^T (Xw - y), without a factor 2 "
         "(introduction, 'The regularized cost')."),
    Hint("test_regularized_cost$", r"penalty is missing its factor 1/2",
         "The L2 penalty is lam/2 ||w||^2, so that its gradient is lam w; without the 1/2 every weight "
         "is pulled twice as hard."),
    Hint("test_regularized_cost$", r"\bmean\b",
         "The course's closed forms sum the squared residuals over the examples; np.mean divides by n, "
         "which is the same minimizer only for another lam (introduction, 'How large is lambda?')."),
    Hint("test_regularized_cost$", r"L1 penalty",
         "sum |w_i| is the L1 norm; the L2 penalty squares each weight: lam/2 * (w @ w)."),
    Hint("rejects_negative_lam", r"raise ValueError|valid input",
         "Check lam before computing anything and raise ValueError only when lam < 0: a negative "
         "penalty would reward large weights."),
    Hint(".", r"NotImplementedError", "The function still raises NotImplementedError: replace that line with "
                                      "your code."),
]
