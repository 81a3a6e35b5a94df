"""Trusted checks of ``l1``: the L1 penalty, its subgradient, soft thresholding, ISTA, sparsity."""

import numpy as np

from ..hints import Hint
from ..trusted import Wrong, array, close, raised

FRACTIONS = [0.02, 0.1, 0.4]
ITERATIONS = [1, 2, 4, 8, 16, 32, 64, 128, 256]
OBJECTIVE_LAMS = [0.5, 5.0]


def make_inputs(rng):
    inputs = {f"p{k}": rng.standard_normal(s) for k, s in enumerate([(6,), (3, 4), (2, 2, 3)])}
    inputs["lam"] = np.array(rng.uniform(0.1, 3.0))
    w = rng.standard_normal((4, 5))
    w[rng.random((4, 5)) < 0.4] = 0.0
    inputs["w_zeros"] = w
    inputs["w_soft"] = 3 * rng.standard_normal((6, 7))
    X = rng.standard_normal((100, 20))
    w_true = np.zeros(20)
    w_true[:4] = [3.0, -2.0, 1.5, 1.0]
    inputs["X"], inputs["y"] = X, X @ w_true + 0.5 * rng.standard_normal(100)
    X2 = 3.0 * rng.standard_normal((40, 10))
    inputs["X2"], inputs["y2"] = X2, X2 @ rng.standard_normal(10) + rng.standard_normal(40)
    inputs["X3"], inputs["y3"] = rng.standard_normal((50, 30)), rng.standard_normal(50)
    Xv = rng.standard_normal((100, 20))
    w_true = np.zeros(20)
    support = rng.permutation(20)[:4]
    w_true[support] = rng.choice([-1.0, 1.0], 4) * rng.uniform(1.0, 3.0, 4)
    # features that never vary: ridge's weight is exactly 0 there, so its count is measured
    Xv[:, rng.choice(np.setdiff1d(np.arange(20), support), rng.integers(1, 4), replace=False)] = 0.0
    inputs["Xv"], inputs["wv"], inputs["yv"] = Xv, w_true, Xv @ w_true + 0.5 * rng.standard_normal(100)
    sparse = rng.standard_normal((10, 10))
    sparse[rng.random((10, 10)) < 0.3] = 0.0
    inputs["sparse"] = sparse
    return inputs


BODY = """
lam = float(load("lam"))
params = [load("p0"), load("p1"), load("p2")]
for k, p in enumerate(params):
    call(f"penalty_{k}", "l1_penalty", p, lam)
call("penalty_list", "l1_penalty", params, lam)
call("penalty_tuple", "l1_penalty", tuple(params), lam)
call("penalty_valid", "l1_penalty", params[0], 1.0)
call("penalty_negative", "l1_penalty", params, -1e-10)

w = load("w_zeros")
for j, l in enumerate([0.0, 0.1, 2.0]):
    call(f"subgradient_{j}", "l1_subgradient", w, l)

for j, t in enumerate([0.0, 0.3, 1.0, 10.0]):
    call(f"soft_{j}", "soft_threshold", load("w_soft"), t)
call("soft_valid", "soft_threshold", load("w_soft"), 0.5)
call("soft_negative", "soft_threshold", load("w_soft"), -0.1)

X, y = load("X"), load("y")
lam_max = float(np.abs(X.T @ y).max())
with upstream("test_lasso_ista"):   # the course's soft_threshold: only ISTA itself counts here
    for j, fraction in enumerate([0.02, 0.1, 0.4]):
        call(f"lasso_{j}", "lasso_ista", X, y, fraction * lam_max)
    call("lasso_above_max", "lasso_ista", X, y, 1.01 * lam_max)
    X2, y2 = load("X2"), load("y2")
    call("lasso_scaled", "lasso_ista", X2, y2, 0.2 * float(np.abs(X2.T @ y2).max()))
X3, y3 = load("X3"), load("y3")
with upstream("test_lasso_ista_objective_decreases"):
    for i, l in enumerate([0.5, 5.0]):
        for k in [1, 2, 4, 8, 16, 32, 64, 128, 256]:
            call(f"path_{i}_{k}", "lasso_ista", X3, y3, l, n_iter=k)

Xv, yv = load("Xv"), load("yv")
with upstream("test_lasso_versus_ridge"):   # the course's lasso_ista: only the measurement counts
    versus = run("versus", "lasso_versus_ridge", Xv, yv, load("wv"),
                 float(np.abs(Xv.T @ yv).max()) * np.array([1.2, 0.5, 0.15, 0.04, 0.01]))
if isinstance(versus, dict):
    for key in ["lasso_zeros", "ridge_zeros", "support_recovered"]:
        if key in versus:
            save(f"versus_{key}", np.asarray(versus[key]))
        else:
            save(f"versus_{key}", None)

sparse = load("sparse")
call("sparsity_exact", "sparsity", sparse)
call("sparsity_atol", "sparsity", sparse, atol=0.5)
call("sparsity_zeros", "sparsity", np.zeros(7))
call("sparsity_ones", "sparsity", np.ones((2, 3)))
"""


# test cell -> the functions it builds on: graded with the course's versions of them, so that
# a mistake there costs only its own cells (see regcourse.grading.upstream)
UPSTREAM = {
    "test_lasso_ista": ("soft_threshold",),
    "test_lasso_ista_objective_decreases": ("soft_threshold",),
    "test_lasso_versus_ridge": ("soft_threshold", "lasso_ista"),
}


def check_penalty(student, reference, inputs):
    for k in range(3):
        close(student, reference, f"penalty_{k}", rtol=1e-10, atol=1e-12, what="l1_penalty(an array, lam)")
    close(student, reference, "penalty_list", rtol=1e-10, atol=1e-12, what="l1_penalty(a list of 3 arrays, lam)")
    close(student, reference, "penalty_tuple", rtol=1e-10, atol=1e-12, what="l1_penalty(a tuple of 3 arrays, lam)")


def check_penalty_negative(student, reference, inputs):
    array(student, "penalty_valid", (), "l1_penalty(an array, lam=1), a valid input,")
    raised(student, "penalty_negative", "ValueError", "l1_penalty(params, lam=-1e-10)")


def check_subgradient(student, reference, inputs):
    zeros = inputs["w_zeros"] == 0
    for j, lam in enumerate([0.0, 0.1, 2.0]):
        got = close(student, reference, f"subgradient_{j}", rtol=0, atol=1e-15, what=f"l1_subgradient(w, {lam})")
        if np.any(got[zeros] != 0.0):
            raise Wrong("the subgradient is not exactly 0 where w == 0")


def check_soft(student, reference, inputs):
    w = inputs["w_soft"]
    for j, t in enumerate([0.0, 0.3, 1.0, 10.0]):
        got = close(student, reference, f"soft_{j}", rtol=0, atol=1e-12, what=f"soft_threshold(w, {t})")
        if np.any(got[np.abs(w) <= t] != 0.0):
            raise Wrong(f"entries with |w| <= t = {t} are not exactly 0")
    if not np.array_equal(array(student, "soft_0"), w):
        raise Wrong("soft_threshold with t = 0 changed w")


def check_soft_negative(student, reference, inputs):
    array(student, "soft_valid", inputs["w_soft"].shape, "soft_threshold(w, 0.5), a valid input,")
    raised(student, "soft_negative", "ValueError", "soft_threshold(w, -0.1)")


def check_lasso(student, reference, inputs):
    cases = {f"lasso_{j}": f"lasso_ista(X, y, {fraction} lam_max) with X of shape (100, 20)"
             for j, fraction in enumerate(FRACTIONS)}
    cases["lasso_scaled"] = "lasso_ista(X, y, 0.2 lam_max) with features of scale 3"
    for name, what in cases.items():
        got = close(student, reference, name, rtol=0, atol=1e-4, what=what)
        if not np.array_equal(got == 0, array(reference, name) == 0):
            raise Wrong(f"{name}: its exact zeros differ from the reference's")
    if np.any(array(student, "lasso_above_max", (20,), "lasso_ista(X, y, 1.01 lam_max)") != 0.0):
        raise Wrong("above lam_max the lasso solution is not exactly 0")


def check_objective(student, reference, inputs):
    X, y = inputs["X3"], inputs["y3"]
    for i, lam in enumerate(OBJECTIVE_LAMS):
        values = []
        for k in ITERATIONS:
            w = array(student, f"path_{i}_{k}", (30,), f"lasso_ista(X, y, {lam}, n_iter={k})")
            with np.errstate(over="ignore", invalid="ignore"):  # a diverging iteration
                r = X @ w - y
                values.append(0.5 * r @ r + lam * np.abs(w).sum())
        if not np.all(np.isfinite(values)):  # NaN would slip through the comparisons below
            raise Wrong(f"the objective is not finite after {ITERATIONS[int(np.argmin(np.isfinite(values)))]} iterations")
        start = 0.5 * y @ y
        if values[0] > start + 1e-9 * abs(start):
            raise Wrong("the objective rose in the first iteration")
        for a, b, k in zip(values, values[1:], ITERATIONS[1:]):
            if b > a + 1e-9 * abs(a):
                raise Wrong(f"the objective increased at n_iter = {k}")


def check_versus(student, reference, inputs):
    what = "lasso_versus_ridge(X, y, w_true, lams) with X of shape (100, 20)"
    for key in ["lasso_zeros", "ridge_zeros", "support_recovered"]:
        got = array(student, f"versus_{key}", (5,), f"{what}[{key!r}]")
        expected = array(reference, f"versus_{key}")
        if not np.array_equal(got, expected):
            absent = int(np.sum(~inputs["Xv"].any(axis=0)))
            why = (f" (X has {absent} all-zero columns, where ridge's weight is exactly 0: count the zeros "
                   "of the solution from np.linalg.solve)") if key == "ridge_zeros" else ""
            raise Wrong(f"{what}[{key!r}] is {got.astype(int).tolist()}, expected {expected.astype(int).tolist()}{why}")


def check_sparsity(student, reference, inputs):
    cases = {"sparsity_exact": "sparsity(w)", "sparsity_atol": "sparsity(w, atol=0.5)",
             "sparsity_zeros": "sparsity(np.zeros(7))", "sparsity_ones": "sparsity(np.ones((2, 3)))"}
    for name, what in cases.items():
        close(student, reference, name, rtol=1e-12, atol=1e-12, what=what)


# Small public calls whose results feedback shows when the cell fails: the smallest
# failing example (each list from the smallest input up).
EXAMPLES = {
    "test_l1_penalty": ["l1_penalty(np.array([3.0, -4.0]), 2.0)",
                        "l1_penalty([np.array([1.0]), np.array([-2.0, 3.0])], 1.0)",
                        "l1_penalty((np.array([1.0]), np.array([-2.0])), 1.0)"],
    "test_l1_penalty_rejects_negative_lam": ["l1_penalty(np.array([1.0]), 1.0)", "l1_penalty(np.array([1.0]), -1.0)"],
    "test_l1_subgradient": ["l1_subgradient(np.array([2.0, -0.5, 0.0]), 3.0)"],
    "test_soft_threshold": ["soft_threshold(np.array([3.0, -3.0, 0.5, -0.5, 0.0]), 1.0)",
                            "soft_threshold(np.array([1.0, -1.0]), 0.0)"],
    "test_soft_threshold_rejects_negative_t": ["soft_threshold(np.array([1.0]), 0.5)",
                                               "soft_threshold(np.array([1.0]), -0.1)"],
    "test_lasso_ista": ["lasso_ista(np.array([[1.0], [1.0]]), np.array([3.0, 1.0]), 2.0)",
                        "lasso_ista(np.array([[1.0], [1.0]]), np.array([3.0, 1.0]), 10.0)"],
    "test_lasso_ista_objective_decreases": ["lasso_ista(np.array([[1.0], [1.0]]), np.array([3.0, 1.0]), 2.0, n_iter=1)"],
    "test_sparsity": ["sparsity(np.array([0.0, 1.0, 0.0, 2.0]))", "sparsity(np.array([0.0, 1e-9, 2.0]), atol=1e-6)"],
    "test_lasso_versus_ridge": ["lasso_versus_ridge(np.eye(2), np.array([3.0, 0.5]), np.array([1.0, 0.0]), np.array([1.0, 4.0]))"],
}


CHECKS = {
    "test_l1_penalty": check_penalty,
    "test_l1_penalty_rejects_negative_lam": check_penalty_negative,
    "test_l1_subgradient": check_subgradient,
    "test_soft_threshold": check_soft,
    "test_soft_threshold_rejects_negative_t": check_soft_negative,
    "test_lasso_ista": check_lasso,
    "test_lasso_ista_objective_decreases": check_objective,
    "test_sparsity": check_sparsity,
    "test_lasso_versus_ridge": check_versus,
}


# The likely cause behind each symptom of this exercise's test cells (see
# regcourse.grading.hints): the first hint that matches a failing cell is shown.
HINTS = [
    Hint(".", r"uses your|fail their own tests",
         "This measurement calls functions you wrote earlier, and one of them is not right yet: its own "
         "test cell names the mistake. Fix that function; this cell then measures what the chapter claims."),
    Hint("test_l1_penalty$", r"\|\|w\|\|\^2|L2 penalty|Euclidean",
         "The L1 penalty sums absolute values: lam * np.abs(p).sum(), no square, no square root."),
    Hint("test_l1_penalty$", r"no factor 1/2|factor 1/2",
         "Unlike L2, the course's L1 penalty has no 1/2: lam * sum |w_i|."),
    Hint("test_l1_penalty$", r"tuple",
         "A tuple is a sequence of arrays like a list: test isinstance(params, np.ndarray) for the single "
         "array case, and iterate over anything else."),
    Hint("rejects_negative_lam|rejects_negative_t", r"raise ValueError|valid input",
         "Raise ValueError only for a negative lam or t, after checking it and before computing."),
    Hint("test_l1_subgradient$", r"nan",
         "w / |w| divides by zero at w = 0; np.sign(w) gives the subgradient with the value 0 there."),
    Hint("test_soft_threshold$", r"clamp|stop at 0",
         "Shrink the magnitude and stop at zero: np.maximum(np.abs(w) - t, 0) * np.sign(w). Without the "
         "maximum, small weights cross zero instead of landing on it (L1 chapter, soft thresholding)."),
    Hint("test_soft_threshold$|test_lasso_ista", r"hard thresholding",
         "Hard thresholding keeps the survivors unchanged; the proximal operator of the L1 penalty also "
         "shrinks them by t."),
    Hint("test_soft_threshold|test_lasso_ista", r"your function soft_threshold|for a valid input",
         "soft_threshold fails on a valid input, and lasso_ista calls it: fix soft_threshold first "
         "(the line shown is where it fails)."),
    Hint("test_lasso_ista", r"subgradient steps|exact zeros",
         "Subgradient steps make a small weight oscillate around zero; the proximal step (the soft "
         "threshold after the gradient step) lands it exactly on zero (L1 chapter, 'Why the optimizer "
         "decides')."),
    Hint("test_lasso_ista", r"step|does not converge|objective increased",
         "The step must be 1/L with L the largest eigenvalue of X^T X (np.linalg.eigvalsh(X.T @ X)[-1]): "
         "the square of X's largest singular value, not 1/n."),
    Hint("test_lasso_ista$", r"penalty was ignored|least squares",
         "The answer ignores the penalty: after the gradient step the soft threshold must move every "
         "weight towards zero by step * lam and stop at zero (hard thresholding keeps the survivors "
         "unchanged, and a threshold of 0 keeps everything)."),
    Hint("test_lasso_ista", r"SyntaxError|is not defined",
         "The cell that defines the function did not run (see the note above the table): fix the syntax "
         "error it names."),
    Hint("test_sparsity$", r"non-zero",
         "sparsity counts the entries that are zero (|w| <= atol), not the others."),
    Hint("test_sparsity$", r"count|SyntaxError|not defined",
         "Return the fraction of entries, np.mean(np.abs(w) <= atol), as a float between 0 and 1; if the "
         "cell did not run, fix the error the note above names."),
    Hint("test_lasso_versus_ridge$", r".",
         "Count exact zeros with == 0.0 on the lasso's weights and on ridge's weights from np.linalg.solve "
         "separately (ridge has exact zeros only for a feature that is 0 in every example, and a least-squares "
         "solver leaves tiny values there), and compare the lasso's non-zero pattern with w_true's (w != 0)."),
]
