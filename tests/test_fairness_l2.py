"""The `l2` grader is fair: each plausible wrong answer loses exactly the points of the
test cells it breaks, with feedback that names the mistake; the solution keeps them all."""

import pytest

from fairness import check_mutant, check_passes_over_seeds, mutant, result_of

PEN, NEG = "test_l2_penalty", "test_l2_penalty_rejects_negative_lam"
GRAD = "test_l2_grad"
RIDGE, RNEG = "test_ridge_fit", "test_ridge_fit_rejects_negative_lam"
SHRINK, TORCH = "test_shrinkage_factors", "test_l2_penalty_torch"
RATIOS = "test_ridge_eigen_ratios"

CHECK = "    if lam < 0:\n        raise ValueError('lam < 0')\n"
AS_LIST = "    params = [params] if isinstance(params, np.ndarray) else params\n"
PENALTY = "def l2_penalty(params, lam):\n"
RIDGE_DEF = "def ridge_fit(X, y, lam):\n"
TORCH_DEF = "def l2_penalty_torch(model, lam):\n"

RATIOS_DEF = "def ridge_eigen_ratios(X, y, lam):\n    _, Q = np.linalg.eigh(X.T @ X)\n"

MUTANTS = [
    mutant("penalty without 1/2", "l2_penalty", PENALTY + CHECK + AS_LIST +
           "    return float(lam * sum(np.sum(p ** 2) for p in params))", {PEN}, "factor 1/2 is missing"),
    mutant("square of the sum", "l2_penalty", PENALTY + CHECK + AS_LIST +
           "    return float(0.5 * lam * sum(np.sum(p) ** 2 for p in params))", {PEN}, "squares the sum"),
    mutant("first array only", "l2_penalty", PENALTY + CHECK +
           "    if isinstance(params, (list, tuple)):\n        params = params[0]\n"
           "    return float(0.5 * lam * np.sum(params ** 2))", {PEN}, "only the first array"),
    mutant("penalty accepts negative lam", "l2_penalty", PENALTY + AS_LIST +
           "    return float(0.5 * lam * sum(np.sum(p ** 2) for p in params))", {NEG}, "raise ValueError"),
    mutant("gradient with a factor 2", "l2_grad",
           "def l2_grad(w, lam):\n    return 2 * lam * w", {GRAD}, "2 * lam * w"),
    mutant("lam added to every entry", "ridge_fit", RIDGE_DEF + CHECK +
           "    return np.linalg.solve(X.T @ X + lam, X.T @ y)", {RIDGE}, "every entry"),
    mutant("lam/2 on the diagonal", "ridge_fit", RIDGE_DEF + CHECK +
           "    return np.linalg.solve(X.T @ X + lam / 2 * np.eye(X.shape[1]), X.T @ y)", {RIDGE}, "lam/2"),
    mutant("inverse of a singular X^T X", "ridge_fit", RIDGE_DEF + CHECK +
           "    sigma, Q = np.linalg.eigh(X.T @ X)\n"
           "    w_ls = np.linalg.inv(X.T @ X) @ X.T @ y\n"
           "    return Q @ (sigma / (sigma + lam) * (Q.T @ w_ls))", {RIDGE}, "singular"),
    mutant("ridge accepts negative lam", "ridge_fit", RIDGE_DEF +
           "    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)", {RNEG}, "raise ValueError"),
    mutant("singular values for eigenvalues", "shrinkage_factors",
           "def shrinkage_factors(X, lam):\n    s = np.linalg.svd(X, compute_uv=False)\n    return s / (s + lam)",
           {SHRINK}, "singular values"),
    mutant("ascending order", "shrinkage_factors",
           "def shrinkage_factors(X, lam):\n    s = np.linalg.eigvalsh(X.T @ X)\n    return s / (s + lam)",
           {SHRINK}, "ascending"),
    mutant("eigen ratios in ascending order", "ridge_eigen_ratios", RATIOS_DEF +
           "    return (Q.T @ ridge_fit(X, y, lam)) / (Q.T @ ridge_fit(X, y, 0.0))", {RATIOS}, "ascending"),
    mutant("eigen ratios upside down", "ridge_eigen_ratios", RATIOS_DEF + "    Q = Q[:, ::-1]\n"
           "    return (Q.T @ ridge_fit(X, y, 0.0)) / (Q.T @ ridge_fit(X, y, lam))", {RATIOS}, "upside down"),
    mutant("eigen ratios predicted, not measured", "ridge_eigen_ratios",
           "def ridge_eigen_ratios(X, y, lam):\n    return shrinkage_factors(X, lam)",
           {RATIOS}, "did not follow ridge_fit"),
    mutant("biases penalized", "l2_penalty_torch", TORCH_DEF +
           "    return 0.5 * lam * sum((p ** 2).sum() for p in model.parameters())", {TORCH}, "biases were penalized"),
    mutant("penalty detached from autograd", "l2_penalty_torch", TORCH_DEF +
           "    total = sum((p.detach() ** 2).sum() for p in model.parameters() if p.ndim > 1)\n"
           "    return 0.5 * lam * total", {TORCH}, "no gradient can reach the weights"),
    mutant("torch penalty returns a float", "l2_penalty_torch", TORCH_DEF +
           "    return 0.5 * lam * sum((p ** 2).sum().item() for p in model.parameters() if p.ndim > 1)",
           {TORCH}, "should return a torch.Tensor"),
]


@pytest.mark.parametrize("m", MUTANTS, ids=str)
def test_wrong_answer_loses_exactly_its_points(m):
    check_mutant(result_of("fairness", "l2", MUTANTS, m), m)


@pytest.mark.tier2
def test_solution_passes_every_test_over_20_seeds():
    check_passes_over_seeds("l2")


def test_the_eigvals_mistake_shows_on_every_linear_algebra_library():
    """np.linalg.eigvals gives complex pairs for the zero eigenvalues of a wide X^T X only
    by rounding, which depends on the library's kernels (OPENBLAS_CORETYPE): the visible
    test's three wide matrices must show the mistake on each, so that the notebook's test
    and the grader's check never disagree about it, whatever the machine."""
    import subprocess
    import sys

    code = ("import numpy as np\n"
            "Xs = np.random.default_rng(1).standard_normal((3, 2, 10))\n"
            "print(sum(np.iscomplexobj(np.linalg.eigvals(X.T @ X)) for X in Xs))")
    for core in ["", "Prescott", "Core2", "Nehalem", "Sandybridge", "Haswell", "SkylakeX", "Zen", "Cooperlake"]:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={"OPENBLAS_CORETYPE": core, "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
        assert int(done.stdout) >= 1, f"with OPENBLAS_CORETYPE={core!r} eigvals stayed real on all three matrices"
