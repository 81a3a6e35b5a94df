"""Data sets of the lessons. Nothing is downloaded: digits ships with scikit-learn,
everything else is generated from a seed."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Split(NamedTuple):
    """A train/test split as numpy arrays (features float32, labels int64), with an
    optional validation set for choosing hyperparameters (the test set is for the end)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None


def digits_split(n_train: int | None = None, n_test: int | None = None, seed: int = 0,
                 standardize: bool = True, n_val: int = 0) -> Split:
    """scikit-learn's 8x8 digits (1797 images, 10 classes), shuffled and split.

    ``n_train`` images go to training (default: half of them), ``n_val`` of the rest to
    validation (default: none) and ``n_test`` of the rest to testing (default: all the
    rest). With ``standardize`` the pixels are centred and scaled with the *training*
    set's statistics only.
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    n = len(y)
    n_train = n // 2 if n_train is None else n_train
    n_test = n - n_train - n_val if n_test is None else n_test
    if n_train < 1 or n_test < 1 or n_val < 0 or n_train + n_val + n_test > n:
        raise ValueError(f"need 1 <= n_train, 1 <= n_test, 0 <= n_val and n_train + n_val + n_test <= {n}, "
                         f"got n_train={n_train}, n_val={n_val}, n_test={n_test}")
    order = np.random.default_rng(seed).permutation(n)
    train, val = order[:n_train], order[n_train:n_train + n_val]
    test = order[n_train + n_val:n_train + n_val + n_test]
    X = X.astype(np.float32)
    if standardize:
        mean = X[train].mean(axis=0)
        std = X[train].std(axis=0) + 1.0  # +1: constant border pixels stay finite
        X = (X - mean) / std
    y = y.astype(np.int64)
    if n_val:
        return Split(X[train], y[train], X[test], y[test], X[val], y[val])
    return Split(X[train], y[train], X[test], y[test])


def noisy_sine(n: int, noise: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points x ~ U(-1, 1), y = sin(pi x) + N(0, noise^2): the curve-fitting toy."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=n)
    return x, np.sin(np.pi * x) + noise * rng.standard_normal(n)


def polynomial_features(x: np.ndarray, degree: int) -> np.ndarray:
    """Columns x, x^2, ..., x^degree (no constant column: fit the intercept by centring y).

    Plain monomials on purpose: for large degrees they are nearly collinear on [-1, 1],
    which is exactly what lets an unregularized fit grow huge, cancelling weights.
    """
    if degree < 1:
        raise ValueError(f"degree must be >= 1, got {degree}")
    x = np.asarray(x, dtype=float)
    return np.stack([x ** k for k in range(1, degree + 1)], axis=1)


def sparse_regression(n: int, d: int, k: int, noise: float = 0.5, seed: int = 0, w_seed: int = 0
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A linear model with ``k`` of ``d`` true weights non-zero: returns ``X, y, w_true``.

    X has i.i.d. standard normal entries; ``k`` randomly placed true weights are
    +-(1 ... 3), the rest exactly 0. The true weights depend only on ``w_seed`` and the
    sample only on ``seed``: draw training, validation and test sets with three seeds.
    """
    if not 0 <= k <= d:
        raise ValueError(f"need 0 <= k <= d, got k={k}, d={d}")
    wrng = np.random.default_rng(w_seed)
    w_true = np.zeros(d)
    support = wrng.permutation(d)[:k]
    w_true[support] = wrng.choice([-1.0, 1.0], size=k) * wrng.uniform(1.0, 3.0, size=k)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ w_true + noise * rng.standard_normal(n)
    return X, y, w_true


def correlated_regression(n: int, d: int = 40, rho: float = 0.9, noise: float = 1.0,
                          seed: int = 0, w_seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` examples of a linear model with ``d`` correlated features: returns ``X, y, w_true``.

    Features are Gaussian with correlation ``rho ** |i - j|`` between features i and j,
    so X^T X has a few large and many small eigenvalues, the setting in which L2 helps.
    The true weights depend only on ``w_seed`` and the sample only on ``seed``: draw a
    training, a validation and a test set of one problem with three seeds.
    """
    if not -1 < rho < 1:
        raise ValueError(f"rho must be in (-1, 1), got {rho}")
    w_true = 0.5 * np.random.default_rng(w_seed).standard_normal(d)
    cov = rho ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) @ np.linalg.cholesky(cov).T
    return X, X @ w_true + noise * rng.standard_normal(n), w_true


def gaussian_blobs(n: int, d: int = 2, n_classes: int = 2, spread: float = 1.0, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points in ``d`` dimensions around ``n_classes`` random centres (labels 0..n_classes-1)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 2.0, size=(n_classes, d))
    y = rng.integers(0, n_classes, size=n)
    X = centres[y] + spread * rng.standard_normal((n, d))
    return X.astype(np.float32), y.astype(np.int64)
