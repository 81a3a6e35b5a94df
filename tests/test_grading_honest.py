"""Honest work is never accused: a catalogue of submissions a learner could write in good
faith, each graded with the course's full grader (nbgrader, sandbox, trusted checks).

- Correct alternatives (another reading of the statement, another algorithm) earn full
  marks, also on 20 fresh sets of the grader's secret inputs.
- Honest mistakes lose the points of exactly their function's cells, with a message that
  names the mistake (and, for an error, where in the learner's own code it arose).
- Shapes of code seen in the wild (conventions of other courses, old Python) are graded
  like any other answer.

None is ever reported as tampering, and none needs review: the notebook's own tests see
every mistake here. The last tests show what happens when a notebook test is weaker than
the grader's check: "needs review", never "tampering".
"""

import copy
import csv
import json
import shutil
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from fairness import check_mutant, mutant, result_of, run_probe_in_process, Mutant
from regcourse.grading import trusted
from regcourse.grading.checks import spec
from regcourse.authoring.notebooks import REPO, source_notebook

# test cells, by assignment
L2_PEN, L2_NEG, RIDGE, SHRINK = ("test_l2_penalty", "test_l2_penalty_rejects_negative_lam", "test_ridge_fit",
                                 "test_shrinkage_factors")
L1_PEN, SOFT, SOFT_NEG = "test_l1_penalty", "test_soft_threshold", "test_soft_threshold_rejects_negative_t"
LASSO, OBJ, SPARSE = "test_lasso_ista", "test_lasso_ista_objective_decreases", "test_sparsity"
VERSUS, RATIOS = "test_lasso_versus_ridge", "test_ridge_eigen_ratios"
FWD, EVAL, P1, BADP = ("test_dropout_forward", "test_dropout_forward_evaluation", "test_dropout_forward_p_one",
                       "test_dropout_forward_rejects_bad_p")
BWD, GEO, MC = "test_dropout_backward", "test_softmax_ensemble_geometric", "test_mc_dropout_predict"
GAPS = "test_relu_dropout_gaps"
COST = "test_regularized_cost"

MC_MODES = '''
    modes = {m: m.training for m in model.modules()}
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.train()
'''
RESTORE = '''
    for m, mode in modes.items():
        m.train(mode)
'''
DROPOUT_CHECKS = '''
    if not 0 <= p <= 1:
        raise ValueError("p must be in [0, 1]")
    x = np.asarray(x, dtype=float)
    if not train or p == 0:
        return x.copy(), np.ones_like(x)
    if p == 1:
        return np.zeros_like(x), np.zeros_like(x)
'''
FORWARD = "def dropout_forward(x, p, rng, train=True):"


def answer(name, aid, function, source, loses=(), says="", notes=""):
    return aid, mutant(name, function, source.strip("\n"), set(loses), says, notes)


CORRECT = [
    answer("penalty of a tuple, by concatenation", "l2", "l2_penalty", '''
def l2_penalty(params, lam):
    if lam < 0:
        raise ValueError("lam < 0")
    parts = [params] if isinstance(params, np.ndarray) else params
    flat = np.concatenate([np.ravel(p) for p in parts])
    return float(lam / 2 * flat @ flat)
'''),
    answer("l2_grad in float32", "l2", "l2_grad", '''
def l2_grad(w, lam):
    return (lam * w).astype(np.float32)
'''),
    answer("ridge by augmented least squares", "l2", "ridge_fit", '''
def ridge_fit(X, y, lam):
    if lam < 0:
        raise ValueError("lam must be >= 0")
    n, d = X.shape
    A = np.vstack([X, np.sqrt(lam) * np.eye(d)])
    b = np.concatenate([y, np.zeros(d)])
    return np.linalg.lstsq(A, b, rcond=None)[0]
'''),
    answer("ridge in the dual form when d > n", "l2", "ridge_fit", '''
def ridge_fit(X, y, lam):
    if lam < 0:
        raise ValueError("lam must be >= 0")
    n, d = X.shape
    if d > n and lam > 0:
        return X.T @ np.linalg.solve(X @ X.T + lam * np.eye(n), y)
    return np.linalg.solve(X.T @ X + lam * np.eye(d), X.T @ y)
'''),
    answer("ridge with inv imported before", "l2", "ridge_fit", '''
from numpy.linalg import inv

def ridge_fit(X, y, lam):
    if lam < 0:
        raise ValueError("lam must be >= 0")
    return inv(X.T @ X + lam * np.eye(X.shape[1])) @ X.T @ y
'''),
    answer("ridge with solve(A, I)", "l2", "ridge_fit", '''
def ridge_fit(X, y, lam):
    if lam < 0:
        raise ValueError("lam must be >= 0")
    d = X.shape[1]
    A = X.T @ X + lam * np.eye(d)
    return np.linalg.solve(A, np.eye(d)) @ (X.T @ y)
'''),
    answer("shrinkage from the singular values", "l2", "shrinkage_factors", '''
def shrinkage_factors(X, lam):
    s = np.linalg.svd(X, compute_uv=False)
    sigma = np.zeros(X.shape[1])
    sigma[:len(s)] = s ** 2
    return sigma / (sigma + lam)
'''),
    answer("eigen ratios from the right singular vectors, ridge_fit by keyword", "l2",
           "ridge_eigen_ratios", '''
def ridge_eigen_ratios(X, y, lam):
    _, _, Vt = np.linalg.svd(np.asarray(X, dtype=float), full_matrices=False)
    ridge, least_squares = ridge_fit(X=X, y=y, lam=lam), ridge_fit(X, y, lam=0.0)
    return (Vt @ ridge) / (Vt @ least_squares)
'''),
    answer("FISTA", "l1", "lasso_ista", '''
def lasso_ista(X, y, lam, n_iter=1000):
    step = 1.0 / np.linalg.eigvalsh(X.T @ X)[-1]
    w = z = np.zeros(X.shape[1])
    t = 1.0
    for _ in range(n_iter):
        w_next = soft_threshold(z - step * (X.T @ (X @ z - y)), step * lam)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        z = w_next + (t - 1) / t_next * (w_next - w)
        w, t = w_next, t_next
    return w
'''),
    ("weight_decay", Mutant("Adam and AdamW updating w in place", (
        ("adam_step", '''
def adam_step(w, grad, state, lr, lam=0.0, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    g = grad + lam * w
    state["t"] += 1
    state["m"] *= b1
    state["m"] += (1 - b1) * g
    state["v"] *= b2
    state["v"] += (1 - b2) * g * g
    m_hat = state["m"] / (1 - b1 ** state["t"])
    v_hat = state["v"] / (1 - b2 ** state["t"])
    w -= lr * m_hat / (np.sqrt(v_hat) + eps)
    return w'''.strip("\n")),
        ("adamw_step", '''
def adamw_step(w, grad, state, lr, wd=0.0, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    w *= 1 - lr * wd
    state["t"] += 1
    state["m"] = b1 * state["m"] + (1 - b1) * grad
    state["v"] = b2 * state["v"] + (1 - b2) * grad ** 2
    m_hat = state["m"] / (1 - b1 ** state["t"])
    v_hat = state["v"] / (1 - b2 ** state["t"])
    w -= lr * m_hat / (np.sqrt(v_hat) + eps)
    return w'''.strip("\n"))), frozenset(), "")),
    answer("MC dropout as one batched pass", "dropout", "mc_dropout_predict", '''
def mc_dropout_predict(model, x, k):''' + MC_MODES + '''    try:
        with torch.no_grad():
            xs = x.repeat(k, *([1] * (x.ndim - 1)))
            probs = torch.softmax(model(xs), dim=-1)
            return probs.reshape(k, x.shape[0], -1).mean(dim=0)
    finally:''' + RESTORE.replace("\n    ", "\n        ")),
    answer("momentum with PyTorch's buffer (the first gradient)", "weight_decay", "sgd_momentum_trajectory", '''
def sgd_momentum_trajectory(w0, grads, lr, momentum, decay, decoupled=False):
    w, buffer, out = np.array(w0, dtype=float), None, []
    for g in grads:
        if decoupled:
            w = w * (1 - lr * decay)
        step = g if decoupled else g + decay * w
        buffer = step.copy() if buffer is None else momentum * buffer + step
        w = w - lr * buffer
        out.append(w)
    return np.stack(out)
'''),
    answer("momentum trajectory as a list of arrays", "weight_decay", "sgd_momentum_trajectory", '''
def sgd_momentum_trajectory(w0, grads, lr, momentum, decay, decoupled=False):
    # the tests read the result with np.asarray: a list of the weights after each step will do
    w, buffer, out = np.array(w0, dtype=float), 0.0, []
    for g in grads:
        if decoupled:
            w = w * (1 - lr * decay)
        buffer = momentum * buffer + (g if decoupled else g + decay * w)
        w = w - lr * buffer
        out.append(w)
    return out
'''),
    answer("geometric ensemble from itertools.product", "dropout", "softmax_ensemble_geometric", '''
import itertools


def softmax_ensemble_geometric(W, b, x, p):
    n = len(x)
    log_mean = np.zeros(len(b))
    for m in itertools.product([0, 1], repeat=n):
        m = np.array(m)
        weight = (1 - p) ** m.sum() * p ** (n - m.sum())
        log_mean = log_mean + weight * np.log(softmax(W @ (m * x) + b))
    return softmax(log_mean)
'''),
    answer("dropout written for a keep probability and a parameter dict", "dropout", "dropout_forward", '''
def dropout_forward(x, p, rng, train=True):
    # the layer of another course, called with its own conventions: keep probability, a mode
    dropout_param = {"p": 1 - p, "mode": "train" if train else "test"}
    keep, mode = dropout_param["p"], dropout_param["mode"]
    if not 0 <= keep <= 1:
        raise ValueError("the keep probability must be in [0, 1]")
    if mode == "train":
        mask = np.zeros(x.shape) if keep == 0 else (rng.random(x.shape) < keep) / keep
        out = x * mask
    else:
        mask = np.ones(x.shape)
        out = x
    return out, mask
'''),
    answer("noisy copies drawn at once, targets by concatenation", "augmentation", "noisy_copies", '''
def noisy_copies(X, y, sigma, K, rng):
    n, d = X.shape
    noise = rng.standard_normal((K, n, d))
    return (X[None] + sigma * noise).reshape(K * n, d), np.concatenate([y] * K)
'''),
    answer("distances by the normal equations", "augmentation", "noise_ridge_distances", '''
def noise_ridge_distances(X, y, sigma, copies, rng):
    n, d = X.shape
    ridge = np.linalg.solve(X.T @ X + n * sigma ** 2 * np.eye(d), X.T @ y)
    out = np.empty(len(copies))
    for i, K in enumerate(copies):
        A, b = noisy_copies(X, y, sigma, K, rng)
        out[i] = np.linalg.norm(np.linalg.solve(A.T @ A, A.T @ b) - ridge) / np.linalg.norm(ridge)
    return out
'''),
    answer("shift by padding and cropping", "augmentation", "shift_images", '''
def shift_images(images, dx, dy):
    n, h, w = images.shape
    pad = abs(dx) + abs(dy)
    big = np.pad(images, ((0, 0), (pad, pad), (pad, pad)))
    return big[:, pad - dy:pad - dy + h, pad - dx:pad - dx + w].copy()
'''),
    answer("smoothed labels filled, then the true class raised", "augmentation", "smooth_labels", '''
def smooth_labels(y, n_classes, eps):
    if eps < 0 or eps > 1:
        raise ValueError("eps must lie in [0, 1]")
    targets = np.full((len(y), n_classes), eps / n_classes)
    targets[np.arange(len(y)), y] += 1 - eps
    return targets
'''),
    answer("calibration error by np.digitize and np.bincount", "augmentation", "calibration_error", '''
def calibration_error(probs, labels, bins=10):
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.digitize(confidence, edges[1:-1], right=True)
    count = np.bincount(which, minlength=bins)
    conf_sum = np.bincount(which, weights=confidence, minlength=bins)
    right_sum = np.bincount(which, weights=correct, minlength=bins)
    used = count > 0
    return float(np.sum(np.abs(conf_sum[used] - right_sum[used])) / len(labels))
'''),
    answer("logit gap from the two probabilities", "augmentation", "optimal_logit_gap", '''
def optimal_logit_gap(n_classes, eps):
    if eps == 0:
        return float("inf")
    return float(np.log((1 - eps + eps / n_classes) / (eps / n_classes)))
'''),
]

MISTAKES = [
    answer("ReLU gaps with itertools, the hidden gap without part 4's functions", "dropout", "relu_dropout_gaps", '''
import itertools


def relu_dropout_gaps(W1, b1, W2, b2, x, p):
    relu = lambda z: np.maximum(z, 0)

    def geometric(logits_of, n):
        log_mean = 0
        for u in itertools.product([0, 1], repeat=n):
            u = np.array(u)
            weight = (1 - p) ** u.sum() * p ** (n - u.sum())
            log_mean = log_mean + weight * np.log(softmax(logits_of(u)))
        return softmax(log_mean)

    h = relu(W1 @ x + b1)
    inputs = geometric(lambda u: W2 @ relu(W1 @ (u * x) + b1) + b2, len(x)) \\
        - softmax(W2 @ relu((1 - p) * W1 @ x + b1) + b2)
    hidden = geometric(lambda v: W2 @ (v * h) + b2, len(h)) - softmax((1 - p) * W2 @ h + b2)
    return {"inputs": inputs, "hidden": hidden}
''', {GAPS}, "did not follow softmax_weight_scaling"),
    answer("eigen ratios with least squares from np.linalg.lstsq", "l2", "ridge_eigen_ratios", '''
def ridge_eigen_ratios(X, y, lam):
    _, Q = np.linalg.eigh(X.T @ X)
    Q = Q[:, ::-1]
    least_squares = np.linalg.lstsq(X, y, rcond=None)[0]
    return (Q.T @ ridge_fit(X, y, lam)) / (Q.T @ least_squares)
''', {RATIOS}, "take both solutions from it"),
    answer("lasso against ridge with ridge by least squares, not np.linalg.solve", "l1", "lasso_versus_ridge", '''
def lasso_versus_ridge(X, y, w_true, lams):
    d = X.shape[1]
    result = {"lasso_zeros": [], "ridge_zeros": [], "support_recovered": []}
    for lam in lams:
        w = lasso_ista(X, y, lam)
        A = np.vstack([X, np.sqrt(lam) * np.eye(d)])
        ridge = np.linalg.lstsq(A, np.concatenate([y, np.zeros(d)]), rcond=None)[0]
        result["lasso_zeros"].append(int((w == 0).sum()))
        result["ridge_zeros"].append(int((ridge == 0).sum()))
        result["support_recovered"].append(set(np.flatnonzero(w)) == set(np.flatnonzero(w_true)))
    return {key: np.array(values) for key, values in result.items()}
''', {VERSUS}, "np.linalg.solve"),
    answer("warm-up with the mean of the squares", "warmup", "regularized_cost", '''
def regularized_cost(X, y, w, lam):
    if lam < 0:
        raise ValueError("lam < 0")
    r = X @ w - y
    return float(np.mean(r ** 2) + 0.5 * lam * w @ w)
''', {COST}, "mean of the squared residuals"),
    answer("penalty for lists only", "l2", "l2_penalty", '''
def l2_penalty(params, lam):
    if lam < 0:
        raise ValueError("lam < 0")
    if isinstance(params, list):
        return float(sum(0.5 * lam * np.sum(p ** 2) for p in params))
    return float(0.5 * lam * np.sum(params ** 2))
''', {L2_PEN}, "tuple"),
    answer("np.ndim of a list of arrays", "l2", "l2_penalty", '''
def l2_penalty(params, lam):
    if lam < 0:
        raise ValueError("lam < 0")
    arrays = [params] if np.ndim(params) > 0 and isinstance(params, np.ndarray) else list(params)
    return float(sum(0.5 * lam * np.sum(np.square(a)) for a in arrays))
''', {L2_PEN, L2_NEG}, "in your function l2_penalty, cell `l2_penalty`, line 4"),
    answer("a norm that raises ValueError for every 1-D input", "l2", "l2_penalty", '''
def l2_penalty(params, lam):
    if lam < 0:
        raise ValueError("lam < 0")
    if isinstance(params, np.ndarray):
        params = [params]
    return float(0.5 * lam * sum(np.linalg.norm(p, 'fro') ** 2 for p in params))
''', {L2_PEN, L2_NEG}, "for a valid input"),
    answer("ridge in the dual form only", "l2", "ridge_fit", '''
def ridge_fit(X, y, lam):
    if lam < 0:
        raise ValueError("lam must be >= 0")
    return X.T @ np.linalg.solve(X @ X.T + lam * np.eye(X.shape[0]), y)
''', {RIDGE}, "lam = 0"),
    answer("shrinkage with np.linalg.eigvals", "l2", "shrinkage_factors", '''
def shrinkage_factors(X, lam):
    sigma = np.sort(np.linalg.eigvals(X.T @ X))[::-1]
    return sigma / (sigma + lam)
''', {SHRINK}, "eigvalsh"),
    answer("shrinkage with n factors when d > n", "l2", "shrinkage_factors", '''
def shrinkage_factors(X, lam):
    s = np.linalg.svd(X, compute_uv=False) ** 2
    return s / (s + lam)
''', {SHRINK}, "d = 5 > n = 3"),
    answer("l1 penalty for lists only", "l1", "l1_penalty", '''
def l1_penalty(params, lam):
    if lam < 0:
        raise ValueError("lam < 0")
    if isinstance(params, list):
        return float(sum(lam * np.sum(np.abs(p)) for p in params))
    return float(lam * np.sum(np.abs(params)))
''', {L1_PEN}, "tuple"),
    answer("an IndexError inside soft_threshold", "l1", "soft_threshold", '''
def soft_threshold(w, t):
    if t < 0:
        raise ValueError("t < 0")
    out = np.sign(w) * np.maximum(np.abs(w) - t, 0.0)
    return out.reshape(w.shape[0], -1, 1)[:, :, 2]
''', {SOFT, SOFT_NEG}, "your function soft_threshold, cell `soft_threshold`, line 5: `return out.reshape"),
    answer("a syntax error in lasso_ista", "l1", "lasso_ista", '''
def lasso_ista(X, y, lam, n_iter=1000):
    step = 1.0 / np.linalg.eigvalsh(X.T @ X)[-1]
    w = np.zeros(X.shape[1]
    for _ in range(n_iter):
        w = soft_threshold(w - step * (X.T @ (X @ w - y)), step * lam)
    return w
''', {LASSO, OBJ}, "stopped with SyntaxError", notes="cell `lasso_ista` stopped with SyntaxError"),
    answer("fixed number of kept units", "dropout", "dropout_forward", FORWARD + DROPOUT_CHECKS + '''
    keep = int(round((1 - p) * x.size))
    flat = np.zeros(x.size)
    flat[rng.permutation(x.size)[:keep]] = 1 / (1 - p)
    mask = flat.reshape(x.shape)
    return x * mask, mask
''', {FWD}, "keep each unit independently"),
    answer("global np.random instead of rng", "dropout", "dropout_forward", FORWARD + DROPOUT_CHECKS + '''
    mask = (np.random.rand(*x.shape) >= p) / (1 - p)
    return x * mask, mask
''', {FWD}, "generator rng"),
    answer("a correct backward beside a missing forward", "dropout", "dropout_forward", FORWARD + '''
    raise NotImplementedError()
''', {FWD, EVAL, P1, BADP}, "NotImplementedError"),
    answer("p = 1 handled, no ValueError", "dropout", "dropout_forward", FORWARD + '''
    x = np.asarray(x, dtype=float)
    if not train or p == 0:
        return x.copy(), np.ones_like(x)
    if p == 1:
        return np.zeros_like(x), np.zeros_like(x)
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask
''', {BADP}, "raise ValueError"),
    answer("Python's ZeroDivisionError at p = 1", "dropout", "dropout_forward", FORWARD + '''
    if not 0 <= p <= 1:
        raise ValueError("p must be in [0, 1]")
    x = np.asarray(x, dtype=float)
    if not train:
        return x.copy(), np.ones_like(x)
    scale = 1 / (1 - p)
    mask = (rng.random(x.shape) >= p) * scale
    return x * mask, mask
''', {P1}, "with p = 1 dropout_forward divided by zero (ZeroDivisionError)"),
    answer("backward that halves the gradient", "dropout", "dropout_backward", '''
def dropout_backward(dout, mask):
    return 0.5 * dout * mask
''', {BWD}, "returned [[1. 0.] [0. 4.]], expected [[2, 0], [0, 8]]"),
    answer("MC dropout averaging the logits", "dropout", "mc_dropout_predict", '''
def mc_dropout_predict(model, x, k):''' + MC_MODES + '''    with torch.no_grad():
        logits = torch.stack([model(x) for _ in range(k)]).mean(dim=0)''' + RESTORE + '''    return torch.softmax(logits, dim=-1)
''', {MC}, "not the logits"),
    answer("MC dropout with one pass whatever k", "dropout", "mc_dropout_predict", '''
def mc_dropout_predict(model, x, k):''' + MC_MODES + '''    with torch.no_grad():
        out = torch.softmax(model(x), dim=-1)''' + RESTORE + '''    return out
''', {MC}, "average k stochastic passes"),
    answer("MC dropout restoring only the top-level mode", "dropout", "mc_dropout_predict", '''
def mc_dropout_predict(model, x, k):
    was = model.training
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.train()
    with torch.no_grad():
        out = torch.stack([torch.softmax(model(x), dim=-1) for _ in range(k)]).mean(dim=0)
    model.train(was)
    return out
''', {MC}, "restore each module's own mode"),
    answer("MC dropout with gradients", "dropout", "mc_dropout_predict", '''
def mc_dropout_predict(model, x, k):''' + MC_MODES + '''    out = torch.stack([torch.softmax(model(x), dim=-1) for _ in range(k)]).mean(dim=0)''' + RESTORE + '''    return out
''', {MC}, "torch.no_grad()"),
]

IN_THE_WILD = [
    answer("forward that divides by p", "dropout", "dropout_forward", FORWARD + '''
    if not 0 <= p <= 1:
        raise ValueError("p")
    if not train:
        return x, np.ones_like(x)
    if p == 1:
        return np.zeros_like(x), np.zeros_like(x)
    mask = (rng.random(x.shape) >= p) / max(p, 1e-12)
    return x * mask, mask
''', {FWD, EVAL}, "1/(1-p)"),
    answer("vanilla dropout, scaled at evaluation", "dropout", "dropout_forward", FORWARD + '''
    if not 0 <= p <= 1:
        raise ValueError("p")
    if not train:
        return x * (1 - p), np.full_like(x, 1 - p)
    mask = (rng.random(x.shape) >= p).astype(float)
    return x * mask, mask
''', {FWD, EVAL}, "inverted dropout"),
    answer("a Python 2 print statement", "l1", "sparsity", '''
def sparsity(w, atol=0.0):
    print "computing the sparsity"
    return float(np.mean(np.abs(w) <= atol))
''', {SPARSE}, "Missing parentheses in call to 'print'", notes="cell `sparsity` stopped with SyntaxError"),
    answer("a validation that raises for everything", "l1", "soft_threshold", '''
def soft_threshold(w, t):
    raise ValueError("not done yet")
''', {SOFT, SOFT_NEG}, "for a valid input"),
]

# Correct but slow: pure-Python loops over units, members, samples or steps. Time limits
# derived from the reference run (100 times its time, at least 2 s in a forked kernel)
# must leave them full marks with a wide margin.
NAIVE = [
    answer("naive: dropout forward one unit at a time", "dropout", "dropout_forward", '''
def dropout_forward(x, p, rng, train=True):
    # one unit at a time, a draw each
    if not 0 <= p <= 1:
        raise ValueError("p must be in [0, 1]")
    x = np.asarray(x, dtype=float)
    out, mask = np.zeros(x.shape), np.ones(x.shape)
    for index in np.ndindex(x.shape):
        if train and p > 0:
            keep = p < 1 and rng.random() >= p
            mask[index] = 1 / (1 - p) if keep else 0.0
        out[index] = x[index] * mask[index]
    return out, mask
'''),
    answer("naive: all masks by Python loops over the bits", "dropout", "all_masks", '''
def all_masks(n):
    rows = []
    for code in range(2 ** n):
        rows.append([(code >> bit) & 1 for bit in range(n)])
    return np.array(rows, dtype=int).reshape(2 ** n, n)
'''),
    answer("naive: geometric ensemble by a Python loop over the members", "dropout", "softmax_ensemble_geometric", '''
def softmax_ensemble_geometric(W, b, x, p):
    n = len(x)
    log_mean = np.zeros(len(b))
    for mask in all_masks(n):
        weight = 1.0
        for m in mask:
            weight *= (1 - p) if m else p
        log_mean = log_mean + weight * np.log(softmax(W @ (mask * x) + b))
    return softmax(log_mean)
'''),
    answer("naive: arithmetic ensemble by a Python loop over the members", "dropout", "softmax_ensemble_arithmetic", '''
def softmax_ensemble_arithmetic(W, b, x, p):
    total = np.zeros(len(b))
    for mask in all_masks(len(x)):
        weight = 1.0
        for m in mask:
            weight *= (1 - p) if m else p
        total = total + weight * softmax(W @ (mask * x) + b)
    return total
'''),
    answer("naive: soft threshold one entry at a time", "l1", "soft_threshold", '''
def soft_threshold(w, t):
    if t < 0:
        raise ValueError("t < 0")
    w = np.asarray(w, dtype=float)
    out = np.zeros(w.shape)
    for index in np.ndindex(w.shape):
        v = w[index]
        out[index] = (v - t) if v > t else (v + t) if v < -t else 0.0
    return out
'''),
    answer("naive: ISTA with the gradient summed one sample at a time", "l1", "lasso_ista", '''
def lasso_ista(X, y, lam, n_iter=1000):
    # the gradient one sample at a time
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    n, d = X.shape
    step = 1.0 / np.linalg.eigvalsh(X.T @ X)[-1]
    w = np.zeros(d)
    for _ in range(n_iter):
        grad = np.zeros(d)
        for i in range(n):
            grad += (X[i] @ w - y[i]) * X[i]
        w = soft_threshold(w - step * grad, step * lam)
    return w
'''),
    answer("naive: L2 penalty summed one entry at a time", "l2", "l2_penalty", '''
def l2_penalty(params, lam):
    if lam < 0:
        raise ValueError("lam < 0")
    arrays = [params] if isinstance(params, np.ndarray) else params
    total = 0.0
    for a in arrays:
        for v in np.ravel(a):
            total += v * v
    return lam / 2 * total
'''),
    answer("naive: ridge with X^T X summed one sample at a time", "l2", "ridge_fit", '''
def ridge_fit(X, y, lam):
    if lam < 0:
        raise ValueError("lam < 0")
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    n, d = X.shape
    A, c = lam * np.eye(d), np.zeros(d)
    for i in range(n):   # X^T X and X^T y, one sample at a time
        A += np.outer(X[i], X[i])
        c += y[i] * X[i]
    return np.linalg.solve(A, c)
'''),
    answer("naive: Adam one entry at a time", "weight_decay", "adam_step", '''
def adam_step(w, grad, state, lr, lam=0.0, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    state["t"] += 1
    new = np.array(w, dtype=float)
    m, v = np.array(state["m"], dtype=float), np.array(state["v"], dtype=float)
    for i in np.ndindex(np.shape(w)):
        g = grad[i] + lam * w[i]
        m[i] = b1 * m[i] + (1 - b1) * g
        v[i] = b2 * v[i] + (1 - b2) * g * g
        new[i] = w[i] - lr * (m[i] / (1 - b1 ** state["t"])) / (np.sqrt(v[i] / (1 - b2 ** state["t"])) + eps)
    state["m"], state["v"] = m, v
    return new
'''),
    answer("naive: AdamW one entry at a time", "weight_decay", "adamw_step", '''
def adamw_step(w, grad, state, lr, wd=0.0, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    state["t"] += 1
    new = np.array(w, dtype=float)
    m, v = np.array(state["m"], dtype=float), np.array(state["v"], dtype=float)
    for i in np.ndindex(np.shape(w)):
        g = grad[i]
        m[i] = b1 * m[i] + (1 - b1) * g
        v[i] = b2 * v[i] + (1 - b2) * g * g
        decayed = w[i] * (1 - lr * wd)
        new[i] = decayed - lr * (m[i] / (1 - b1 ** state["t"])) / (np.sqrt(v[i] / (1 - b2 ** state["t"])) + eps)
    state["m"], state["v"] = m, v
    return new
'''),
    answer("naive: momentum trajectory one entry and step at a time", "weight_decay", "sgd_momentum_trajectory", '''
def sgd_momentum_trajectory(w0, grads, lr, momentum, decay, decoupled=False):
    w = np.array(w0, dtype=float)
    buffer = np.zeros_like(w)
    out = np.zeros((len(grads),) + w.shape)
    for t in range(len(grads)):
        for i in np.ndindex(w.shape):
            if decoupled:
                w[i] *= 1 - lr * decay
                buffer[i] = momentum * buffer[i] + grads[t][i]
            else:
                buffer[i] = momentum * buffer[i] + grads[t][i] + decay * w[i]
            w[i] -= lr * buffer[i]
        out[t] = w
    return out
'''),
    answer("naive: warm-up cost summed one sample at a time", "warmup", "regularized_cost", '''
def regularized_cost(X, y, w, lam):
    if lam < 0:
        raise ValueError("lam < 0")
    cost = 0.0
    for i in range(len(y)):   # one sample at a time
        r = 0.0
        for j in range(len(w)):
            r += X[i][j] * w[j]
        cost += 0.5 * (r - y[i]) ** 2
    for j in range(len(w)):
        cost += 0.5 * lam * w[j] ** 2
    return float(cost)
'''),
]

CATALOGUE = CORRECT + NAIVE + MISTAKES + IN_THE_WILD


def test_the_catalogue_covers_each_kind():
    assert len(CORRECT) >= 10 and len(MISTAKES) >= 15 and len(IN_THE_WILD) >= 4
    assert all(not m.loses for _, m in CORRECT + NAIVE) and all(m.loses for _, m in MISTAKES + IN_THE_WILD)


def entries(aid: str, catalogue=CATALOGUE) -> list[Mutant]:
    """The entries of ``catalogue`` (default: all of it) for one assignment."""
    return [m for a, m in catalogue if a == aid]


# The first tier grades the correct alternatives and the code seen in the wild; the honest
# mistakes (whose kind the fairness catalogues cover in the first tier too) and the slow
# answers (seconds each, by design) are the second tier's, in a class of their own: the
# first tier stays within its minutes.
FIRST_TIER = CORRECT + IN_THE_WILD
SECOND_TIER = MISTAKES + NAIVE


@pytest.mark.parametrize("aid, m", FIRST_TIER, ids=[str(m) for _, m in FIRST_TIER])
def test_honest_submission_scores_exactly_what_it_earned(aid, m):
    result = check_mutant(result_of("honest", aid, entries(aid, FIRST_TIER), m), m)
    assert result.status == "graded"


@pytest.mark.tier2
@pytest.mark.parametrize("aid, m", SECOND_TIER, ids=[str(m) for _, m in SECOND_TIER])
def test_an_honest_mistake_or_a_slow_answer_scores_exactly_what_it_earned(aid, m):
    result = check_mutant(result_of("honest-second", aid, entries(aid, SECOND_TIER), m), m)
    assert result.status == "graded"


@pytest.fixture(scope="module")
def reference_outputs(tmp_path_factory):
    """The reference run of the probe on 20 secret seeds per assignment, computed once."""
    cache = {}

    def outputs(aid, seed):
        if (aid, seed) not in cache:
            inputs = spec(aid).make_inputs(np.random.default_rng(1000 + seed))
            folder = tmp_path_factory.mktemp(f"reference-{aid}-{seed}")
            cache[aid, seed] = inputs, run_probe_in_process(source_notebook(aid), aid, inputs, folder)
        return cache[aid, seed]
    return outputs


@pytest.mark.tier2
@pytest.mark.parametrize("aid, m", CATALOGUE, ids=[str(m) for _, m in CATALOGUE])
def test_over_20_secret_seeds_the_trusted_checks_fail_only_what_the_tests_fail(aid, m, reference_outputs, tmp_path):
    """The grader's inputs change with every grading. On 20 of them, a correct answer passes
    every check, and a mistake fails no check whose notebook test it passes: no honest
    submission is ever sent for review, let alone called tampering."""
    notebook = tmp_path / f"{aid}.ipynb"
    nbformat.write(m.notebook(aid), notebook)
    for seed in range(20):
        inputs, reference = reference_outputs(aid, seed)
        student = run_probe_in_process(notebook, aid, inputs, tmp_path / f"s{seed}")
        checks = trusted.verdicts(aid, student, reference, inputs)
        assert not checks.forged and checks.finished, (seed, checks)
        failed = {gid: why for gid, why in checks.failed.items() if why is not None}
        assert set(failed) <= m.loses, f"{m.name}, seed {seed}: {failed}"


# -- a notebook test weaker than the grader's check -------------------------------------------

MC_LOGITS = next(m for _, m in MISTAKES if m.name == "MC dropout averaging the logits")


@pytest.fixture(scope="module")
def weak_source(tmp_path_factory):
    """A copy of solutions/ whose MC test checks only the shape of the result: a mistake in
    the values passes it, and only the grader's independent check can see it."""
    root = tmp_path_factory.mktemp("weak") / "solutions"
    shutil.copytree(REPO / "solutions", root)
    path = root / "dropout" / "dropout.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == MC)
    cell.source = ("model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3))\n"
                   "assert tuple(mc_dropout_predict(model, torch.randn(5, 4), 3).shape) == (5, 3)")
    nbformat.write(nb, str(path))
    return root


@pytest.mark.tier2
def test_a_weak_notebook_test_leads_to_review_never_to_tampering(weak_source, tmp_path):
    """The learner's MC average of logits passes the weakened test; the grader's check on
    fresh inputs sees the mistake: the cell scores 0 and needs review, with words that
    teach, in the table, the JSON and the feedback page."""
    notebook = tmp_path / "dropout.ipynb"
    nbformat.write(MC_LOGITS.notebook("dropout"), notebook)
    done = subprocess.run([sys.executable, "-m", "regcourse.cli", "grade", str(notebook), "--json",
                           "--source", str(weak_source)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    items = {i["grade_id"]: i for i in report["items"]}
    assert report["status"] == "needs review" and not report["tampering"]
    assert items[MC]["verdict"] == "needs review" and items[MC]["score"] == 0
    assert "average the probabilities of the passes, not the logits" in items[MC]["message"]
    assert all(i["verdict"] in ("passed", "pending") for gid, i in items.items() if gid != MC)
    assert report["score"] == report["max_score"] - items[MC]["max_score"] - report["pending"]
    page = open(report["feedback"]).read()
    assert "Needs review" in page and "Tampering" not in page
    table = subprocess.run([sys.executable, "-m", "regcourse.cli", "grade", str(notebook),
                            "--source", str(weak_source)], capture_output=True, text=True, timeout=600)
    assert "needs review: test_mc_dropout_predict" in table.stdout and "TAMPERING" not in table.stdout


def test_the_softmax_of_mean_logits_is_named_on_every_input_and_nothing_else_is():
    """The MC check names the mistake "averaged the logits" from the spread of the averaged
    logits, which it knows exactly. Simulated for 60 secret seeds (a fixed tolerance on
    the probabilities missed it on some, where 2000 passes still spread that answer by more
    than the tolerance): every such answer is named; averaged probabilities, from 20 passes
    (wrong) or 2000 (right), never are."""
    from regcourse.grading.checks import dropout

    def softmax(z):
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    draws = np.random.default_rng(0)
    for seed in range(60):
        inputs = dropout.make_inputs(np.random.default_rng([seed, 1]))
        for j, p in enumerate(dropout.EXACT_PS):
            w, b, x = inputs[f"exact_w{j}"], inputs[f"exact_b{j}"], inputs[f"exact_x{j}"]
            for k, kind in [(2000, "logits"), (20, "probabilities"), (2000, "probabilities")]:
                logits = (x[None] * (draws.random((k, 1, 5)) >= p) / (1 - p)) @ w.T + b
                got = softmax(logits.mean(0)) if kind == "logits" else softmax(logits).mean(0)
                named = dropout._softmax_of_mean_logits(got, inputs, j, p, 2000)
                assert named == (kind == "logits"), (seed, p, k, kind)


@pytest.mark.tier2
def test_a_class_lists_review_apart_from_tampering(weak_source, tmp_path):
    import submissions as sub
    from regcourse.grading.batch import grade_class
    from regcourse.grading.course import Course

    course = Course.create(tmp_path / "course", weak_source, REPO / "nbgrader_config.py", ["dropout"])
    for student, nb in {"honest": MC_LOGITS.notebook("dropout"), "right": sub.solution("dropout")}.items():
        sub.write(copy.deepcopy(nb), course.root / "submitted" / student / "dropout" / "dropout.ipynb")
    results = {r.student: r for r in grade_class(course.root, "dropout", jobs=1, progress=None)}
    assert results["honest"].status == "needs review" and results["right"].status == "graded"
    with open(course.root / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert rows["honest"]["status"] == "needs review" and rows["right"]["status"] == "graded"
    assert "test_mc_dropout_predict" in rows["honest"]["needs review"] and not rows["honest"]["tampering"]
