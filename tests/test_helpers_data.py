"""regcourse.data: the lessons' data sets are the right size, seeded and split honestly."""

import numpy as np
import pytest

from regcourse import data


def test_digits_split_sizes_and_types():
    split = data.digits_split(n_train=300, n_test=200, seed=1)
    assert split.X_train.shape == (300, 64) and split.X_test.shape == (200, 64)
    assert split.y_train.shape == (300,) and split.y_test.shape == (200,)
    assert split.X_train.dtype == np.float32 and split.y_train.dtype == np.int64
    assert set(np.unique(split.y_train)) <= set(range(10))


def test_digits_split_default_uses_every_image_once():
    split = data.digits_split(seed=0)
    assert len(split.y_train) + len(split.y_test) == 1797


def test_digits_standardized_with_training_statistics_only():
    split = data.digits_split(n_train=400, seed=3)
    np.testing.assert_allclose(split.X_train.mean(axis=0), 0.0, atol=1e-5)
    # the test set is transformed with the training statistics, so its mean is not exactly 0
    assert np.abs(split.X_test.mean(axis=0)).max() > 1e-3


def test_digits_split_is_seeded():
    a, b, c = (data.digits_split(n_train=100, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.y_train, c.y_train)


def test_digits_validation_set_is_separate_and_the_test_set_unchanged():
    plain = data.digits_split(n_train=300, n_test=200, seed=2)
    split = data.digits_split(n_train=300, n_val=150, n_test=200, seed=2)
    assert split.X_val.shape == (150, 64) and split.y_val.shape == (150,)
    np.testing.assert_array_equal(split.X_train, plain.X_train)
    rows = {tuple(r) for r in split.X_train} | {tuple(r) for r in split.X_test}
    assert not {tuple(r) for r in split.X_val} & rows   # no image is in two sets
    assert plain.X_val is None
    assert len(data.digits_split(n_train=500, n_val=300, seed=0).y_test) == 1797 - 800


def test_digits_split_rejects_impossible_sizes():
    with pytest.raises(ValueError, match="n_train"):
        data.digits_split(n_train=1700, n_test=200)
    with pytest.raises(ValueError):
        data.digits_split(n_train=0)
    with pytest.raises(ValueError, match="n_val"):
        data.digits_split(n_train=1000, n_val=900)


def test_noisy_sine_is_seeded_and_noisy():
    x, y = data.noisy_sine(2000, noise=0.3, seed=0)
    x2, y2 = data.noisy_sine(2000, noise=0.3, seed=0)
    np.testing.assert_array_equal(y, y2)
    assert x.min() >= -1 and x.max() <= 1
    assert abs(np.std(y - np.sin(np.pi * x)) - 0.3) < 0.02


def test_polynomial_features_columns():
    X = data.polynomial_features(np.array([2.0, -1.0]), 3)
    np.testing.assert_array_equal(X, [[2, 4, 8], [-1, 1, -1]])
    with pytest.raises(ValueError):
        data.polynomial_features(np.zeros(3), 0)


def test_sparse_regression_support():
    X, y, w = data.sparse_regression(100, 50, 5, noise=0.0, seed=2, w_seed=3)
    assert X.shape == (100, 50) and np.count_nonzero(w) == 5
    assert np.abs(w[w != 0]).min() >= 1.0
    np.testing.assert_allclose(X @ w, y)
    X2, _, w2 = data.sparse_regression(10, 50, 5, seed=4, w_seed=3)
    np.testing.assert_array_equal(w, w2)
    assert not np.array_equal(X[:10], X2)
    with pytest.raises(ValueError):
        data.sparse_regression(10, 5, 6)


def test_gaussian_blobs_labels():
    X, y = data.gaussian_blobs(300, d=4, n_classes=3, seed=0)
    assert X.shape == (300, 4) and set(np.unique(y)) == {0, 1, 2}


def test_correlated_regression_shares_weights_across_samples():
    X1, y1, w1 = data.correlated_regression(3000, d=5, rho=0.8, noise=0.0, seed=1, w_seed=7)
    X2, y2, w2 = data.correlated_regression(10, d=5, rho=0.8, noise=0.0, seed=2, w_seed=7)
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_allclose(X1 @ w1, y1)
    corr = np.corrcoef(X1, rowvar=False)
    assert abs(corr[0, 1] - 0.8) < 0.05 and abs(corr[0, 2] - 0.64) < 0.05
    with pytest.raises(ValueError):
        data.correlated_regression(5, rho=1.0)
