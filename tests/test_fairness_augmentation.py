"""The `augmentation` grader is fair: each plausible wrong answer loses exactly the points of
the test cells it breaks, with feedback that names the mistake; the solution keeps them all."""

import pytest

from fairness import check_mutant, check_passes_over_seeds, mutant, result_of

COPIES, LOSS, DISTANCES = "test_noisy_copies", "test_expected_noisy_loss", "test_noise_ridge_distances"
SHIFT, SMOOTH, BAD_EPS = "test_shift_images", "test_smooth_labels", "test_smooth_labels_rejects_bad_eps"
GAP, CALIBRATION = "test_optimal_logit_gap", "test_calibration_error"

COPIES_DEF = "def noisy_copies(X, y, sigma, K, rng):\n    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)\n"
LOSS_DEF = "def expected_noisy_loss(X, y, w, sigma):\n    r = X @ w - y\n"
DISTANCES_DEF = ("def noise_ridge_distances(X, y, sigma, copies, rng):\n    n, d = X.shape\n"
                 "    ridge = np.linalg.solve(X.T @ X + n * sigma**2 * np.eye(d), X.T @ y)\n")
SHIFT_DEF = "def shift_images(images, dx, dy):\n"
SMOOTH_DEF = "def smooth_labels(y, n_classes, eps):\n"
EPS_CHECK = "    if not 0 <= eps <= 1:\n        raise ValueError('eps')\n"
GAP_DEF = "def optimal_logit_gap(n_classes, eps):\n    if eps == 0:\n        return np.inf\n"
CALIBRATION_DEF = ("def calibration_error(probs, labels, bins=10):\n"
                   "    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels\n")
BINNED = ("    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)\n"
          "    gaps = [(np.mean(which == b), abs(confidence[which == b].mean() - correct[which == b].mean()))\n"
          "            for b in range(bins) if np.any(which == b)]\n")

MUTANTS = [
    mutant("targets repeated in a row", "noisy_copies", COPIES_DEF +
           "    return np.concatenate([X + sigma * rng.standard_normal(X.shape) for _ in range(K)]), np.repeat(y, K)",
           {COPIES}, "np.repeat"),
    mutant("noise scaled by sigma squared", "noisy_copies", COPIES_DEF +
           "    return np.concatenate([X + sigma**2 * rng.standard_normal(X.shape) for _ in range(K)]), np.tile(y, K)",
           {COPIES}, "not sigma^2"),
    mutant("one noise draw for every copy", "noisy_copies", COPIES_DEF +
           "    noise = sigma * rng.standard_normal(X.shape)\n    return np.tile(X + noise, (K, 1)), np.tile(y, K)",
           {COPIES}, "same noise"),
    mutant("noisy targets", "noisy_copies", COPIES_DEF +
           "    Xn = np.concatenate([X + sigma * rng.standard_normal(X.shape) for _ in range(K)])\n"
           "    return Xn, np.tile(y, K) + sigma * rng.standard_normal(K * len(y))",
           {COPIES}, "targets should not be noisy"),
    mutant("global np.random instead of rng", "noisy_copies", COPIES_DEF +
           "    return np.concatenate([X + sigma * np.random.standard_normal(X.shape) for _ in range(K)]), np.tile(y, K)",
           {COPIES}, "rng"),
    mutant("noisy copies not written", "noisy_copies", COPIES_DEF + "    raise NotImplementedError()",
           {COPIES}, "NotImplementedError"),
    mutant("penalty without n", "expected_noisy_loss", LOSS_DEF +
           "    return float(0.5 * r @ r + 0.5 * sigma**2 * w @ w)", {LOSS}, "n sigma^2"),
    mutant("penalty without 1/2", "expected_noisy_loss", LOSS_DEF +
           "    return float(0.5 * r @ r + len(X) * sigma**2 * w @ w)", {LOSS}, "missing its 1/2"),
    mutant("features counted instead of examples", "expected_noisy_loss", LOSS_DEF +
           "    return float(0.5 * r @ r + 0.5 * X.shape[1] * sigma**2 * w @ w)", {LOSS}, "n sigma^2"),
    mutant("ridge with lam = sigma^2", "noise_ridge_distances",
           "def noise_ridge_distances(X, y, sigma, copies, rng):\n    n, d = X.shape\n"
           "    ridge = np.linalg.solve(X.T @ X + sigma**2 * np.eye(d), X.T @ y)\n"
           "    fits = [np.linalg.lstsq(*noisy_copies(X, y, sigma, K, rng), rcond=None)[0] for K in copies]\n"
           "    return np.array([np.linalg.norm(w - ridge) / np.linalg.norm(ridge) for w in fits])",
           {DISTANCES}, "n sigma^2"),
    mutant("noise drawn without noisy_copies", "noise_ridge_distances", DISTANCES_DEF +
           "    out = []\n    for K in copies:\n"
           "        Xn = np.concatenate([X + sigma * rng.standard_normal(X.shape) for _ in range(K)])\n"
           "        w = np.linalg.lstsq(Xn, np.tile(y, K), rcond=None)[0]\n"
           "        out.append(np.linalg.norm(w - ridge) / np.linalg.norm(ridge))\n    return np.array(out)",
           {DISTANCES}, "did not follow noisy_copies"),
    mutant("distances from the 1/sqrt(K) law", "noise_ridge_distances", DISTANCES_DEF +
           "    return 0.3 / np.sqrt(np.asarray(copies, dtype=float))", {DISTANCES}, "did not follow noisy_copies"),
    mutant("shift by np.roll", "shift_images", SHIFT_DEF +
           "    return np.roll(np.roll(images, dx, axis=2), dy, axis=1)", {SHIFT}, "np.roll wraps around"),
    mutant("positive dx moves left", "shift_images", SHIFT_DEF +
           "    h, w = images.shape[1:]\n    out = np.zeros_like(images)\n"
           "    for r in range(h):\n        for c in range(w):\n"
           "            if 0 <= r - dy < h and 0 <= c + dx < w:\n"
           "                out[:, r, c] = images[:, r - dy, c + dx]\n    return out",
           {SHIFT}, "moved the image left"),
    mutant("dx moves rows", "shift_images", SHIFT_DEF +
           "    h, w = images.shape[1:]\n    out = np.zeros_like(images)\n"
           "    for r in range(h):\n        for c in range(w):\n"
           "            if 0 <= r - dx < h and 0 <= c - dy < w:\n"
           "                out[:, r, c] = images[:, r - dx, c - dy]\n    return out",
           {SHIFT}, "moved the image down"),
    mutant("images shifted in place", "shift_images", SHIFT_DEF +
           "    moved = np.roll(np.roll(images, dx, axis=2), dy, axis=1)\n"
           "    h, w = images.shape[1:]\n"
           "    rows, cols = np.arange(h)[:, None] - dy, np.arange(w)[None, :] - dx\n"
           "    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)\n"
           "    images[...] = moved * inside\n    return images",
           {SHIFT}, "changed its input"),
    mutant("eps over the other classes only", "smooth_labels", SMOOTH_DEF + EPS_CHECK +
           "    onehot = np.eye(n_classes)[y]\n    return onehot * (1 - eps) + (1 - onehot) * eps / (n_classes - 1)",
           {SMOOTH}, "K - 1 other classes"),
    mutant("one-hot part not scaled", "smooth_labels", SMOOTH_DEF + EPS_CHECK +
           "    return np.eye(n_classes)[y] + eps / n_classes", {SMOOTH}, "sum to 1"),
    mutant("any eps accepted", "smooth_labels", SMOOTH_DEF +
           "    return (1 - eps) * np.eye(n_classes)[y] + eps / n_classes", {BAD_EPS}, "raise ValueError"),
    mutant("gap without the true class's share", "optimal_logit_gap", GAP_DEF +
           "    return float(np.log(n_classes * (1 - eps) / eps))", {GAP}, "eps / K as well"),
    mutant("gap without the classes", "optimal_logit_gap", GAP_DEF +
           "    return float(np.log((1 - eps) / eps))", {GAP}, "leaves out the number of classes"),
    mutant("division by zero at eps = 0", "optimal_logit_gap",
           "def optimal_logit_gap(n_classes, eps):\n    return float(np.log(1 + n_classes * (1 - eps) / eps))",
           {GAP}, "ZeroDivisionError"),
    mutant("true-class probability as the confidence", "calibration_error",
           "def calibration_error(probs, labels, bins=10):\n"
           "    confidence = probs[np.arange(len(labels)), labels]\n"
           "    correct = probs.argmax(axis=1) == labels\n" + BINNED +
           "    return float(sum(share * gap for share, gap in gaps))", {CALIBRATION}, "largest probability"),
    mutant("bins weighted alike", "calibration_error", CALIBRATION_DEF + BINNED +
           "    return float(np.mean([gap for _, gap in gaps]))", {CALIBRATION}, "same weight"),
    mutant("a confidence of 1 falls out of the bins", "calibration_error", CALIBRATION_DEF +
           "    which = np.floor(confidence * bins).astype(int)\n"
           "    gaps = [(np.mean(which == b), abs(confidence[which == b].mean() - correct[which == b].mean()))\n"
           "            for b in range(bins) if np.any(which == b)]\n"
           "    return float(sum(share * gap for share, gap in gaps))", {CALIBRATION}, "confidence 1 fall out"),
]


@pytest.mark.parametrize("m", MUTANTS, ids=str)
def test_wrong_answer_loses_exactly_its_points(m):
    check_mutant(result_of("fairness", "augmentation", MUTANTS, m), m)


@pytest.mark.tier2
def test_solution_passes_every_test_over_20_seeds():
    check_passes_over_seeds("augmentation")
