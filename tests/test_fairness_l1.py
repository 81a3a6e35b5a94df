"""The `l1` grader is fair: each plausible wrong answer loses exactly the points of the
test cells it breaks, with feedback that names the mistake; correct answers (ISTA, and
FISTA, which the exercise allows) keep them all."""

import pytest

from fairness import check_mutant, check_passes_over_seeds, mutant, result_of
from regcourse.authoring.notebooks import with_cell_source
from regcourse.authoring.notebooks import read, source_notebook

PEN, NEG = "test_l1_penalty", "test_l1_penalty_rejects_negative_lam"
SUB = "test_l1_subgradient"
SOFT, SOFT_NEG = "test_soft_threshold", "test_soft_threshold_rejects_negative_t"
LASSO, OBJ = "test_lasso_ista", "test_lasso_ista_objective_decreases"
SPARSE, VERSUS = "test_sparsity", "test_lasso_versus_ridge"

CHECK_LAM = "    if lam < 0:\n        raise ValueError('lam < 0')\n"
AS_LIST = "    params = [params] if isinstance(params, np.ndarray) else params\n"
ISTA = ("def lasso_ista(X, y, lam, n_iter=1000):\n"
        "    step = {step}\n"
        "    w = np.zeros(X.shape[1])\n"
        "    for _ in range(n_iter):\n"
        "        w = {update}\n"
        "    return w")
STEP = "1.0 / np.linalg.eigvalsh(X.T @ X)[-1]"
PROX = "soft_threshold(w - step * (X.T @ (X @ w - y)), step * lam)"

FISTA = """def lasso_ista(X, y, lam, n_iter=1000):
    step = 1.0 / np.linalg.eigvalsh(X.T @ X)[-1]
    w = z = np.zeros(X.shape[1])
    t = 1.0
    for _ in range(n_iter):
        w_next = soft_threshold(z - step * (X.T @ (X @ z - y)), step * lam)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        z = w_next + (t - 1) / t_next * (w_next - w)
        w, t = w_next, t_next
    return w"""

MUTANTS = [
    mutant("squared penalty", "l1_penalty", "def l1_penalty(params, lam):\n" + CHECK_LAM + AS_LIST +
           "    return float(lam * sum(np.sum(p ** 2) for p in params))", {PEN}, "||w||^2"),
    mutant("penalty with a 1/2", "l1_penalty", "def l1_penalty(params, lam):\n" + CHECK_LAM + AS_LIST +
           "    return float(0.5 * lam * sum(np.abs(p).sum() for p in params))", {PEN}, "no factor 1/2"),
    mutant("penalty accepts negative lam", "l1_penalty", "def l1_penalty(params, lam):\n" + AS_LIST +
           "    return float(lam * sum(np.abs(p).sum() for p in params))", {NEG}, "raise ValueError"),
    mutant("sign as w / |w|", "l1_subgradient",
           "def l1_subgradient(w, lam):\n    return lam * w / np.abs(w)", {SUB}, "nan"),
    mutant("soft threshold without the clamp", "soft_threshold",
           "def soft_threshold(w, t):\n    if t < 0:\n        raise ValueError('t < 0')\n"
           "    return np.sign(w) * (np.abs(w) - t)", {SOFT}, "clamp"),
    mutant("hard thresholding", "soft_threshold",
           "def soft_threshold(w, t):\n    if t < 0:\n        raise ValueError('t < 0')\n"
           "    return np.where(np.abs(w) > t, w, 0.0)", {SOFT}, "hard thresholding"),
    mutant("soft threshold accepts negative t", "soft_threshold",
           "def soft_threshold(w, t):\n    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)",
           {SOFT_NEG}, "raise ValueError"),
    mutant("lasso by subgradient descent", "lasso_ista",
           ISTA.format(step=STEP, update="w - step * (X.T @ (X @ w - y) + lam * np.sign(w))"),
           {LASSO, OBJ}, "subgradient steps"),
    mutant("step 1/n instead of 1/L", "lasso_ista",
           ISTA.format(step="1.0 / X.shape[0]", update=PROX), {LASSO, OBJ}, "step"),
    mutant("L from the singular value, not its square", "lasso_ista",
           ISTA.format(step="1.0 / np.linalg.svd(X, compute_uv=False)[0]", update=PROX), {LASSO, OBJ}, "step"),
    mutant("threshold lam instead of step * lam", "lasso_ista",
           ISTA.format(step=STEP, update="soft_threshold(w - step * (X.T @ (X @ w - y)), lam)"),
           {LASSO}, "step * lam"),
    mutant("non-zeros counted as zeros", "lasso_versus_ridge",
           "def lasso_versus_ridge(X, y, w_true, lams):\n"
           "    weights = [lasso_ista(X, y, lam) for lam in lams]\n"
           "    ridges = [np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y) for lam in lams]\n"
           "    return {'lasso_zeros': np.array([np.sum(w != 0) for w in weights]),\n"
           "            'ridge_zeros': np.array([np.sum(r != 0) for r in ridges]),\n"
           "            'support_recovered': np.array([np.array_equal(w != 0, w_true != 0) for w in weights])}",
           {VERSUS}, "w == 0.0"),
    mutant("ridge zeros assumed, not counted", "lasso_versus_ridge",
           "def lasso_versus_ridge(X, y, w_true, lams):\n"
           "    weights = [lasso_ista(X, y, lam) for lam in lams]\n"
           "    return {'lasso_zeros': np.array([np.sum(w == 0) for w in weights]),\n"
           "            'ridge_zeros': np.zeros(len(lams), dtype=int),   # ridge has no exact zeros\n"
           "            'support_recovered': np.array([np.array_equal(w != 0, w_true != 0) for w in weights])}",
           {VERSUS}, "all-zero columns"),
    mutant("sparsity counts non-zeros", "sparsity",
           "def sparsity(w, atol=0.0):\n    return float(np.mean(np.abs(w) > atol))", {SPARSE}, "non-zero"),
    mutant("sparsity returns a count", "sparsity",
           "def sparsity(w, atol=0.0):\n    return float(np.sum(np.abs(w) <= atol))", {SPARSE}, "count"),
]


@pytest.mark.parametrize("m", MUTANTS, ids=str)
def test_wrong_answer_loses_exactly_its_points(m):
    check_mutant(result_of("fairness", "l1", MUTANTS, m), m)


@pytest.mark.tier2
@pytest.mark.parametrize("variant", ["reference ISTA", "FISTA"])
def test_correct_answers_pass_every_test_over_20_seeds(variant):
    nb = read(source_notebook("l1"))
    check_passes_over_seeds("l1", with_cell_source(nb, "lasso_ista", FISTA) if variant == "FISTA" else nb)
