"""Trusted checks of ``l2``: the L2 penalty, ridge regression, shrinkage, a torch penalty."""

import numpy as np

from ..hints import Hint
from ..trusted import Wrong, array, close, raised

SHAPES = [(5,), (3, 4), (2, 3, 2)]
TORCH_SHAPES = {"w1": (8, 4), "b1": (8,), "g": (8,), "beta": (8,), "w2": (3, 8), "b2": (3,)}


def make_inputs(rng):
    inputs = {f"p{k}": rng.standard_normal(s) for k, s in enumerate(SHAPES)}
    inputs["lam"] = np.array(rng.uniform(0.1, 3.0))
    inputs["w"] = rng.standard_normal((3, 4))
    inputs["X"], inputs["y"] = rng.standard_normal((30, 5)), rng.standard_normal(30)
    inputs["Xwide"], inputs["ywide"] = rng.standard_normal((8, 20)), rng.standard_normal(8)
    inputs["Xs"] = rng.standard_normal((20, 6)) * np.array([5.0, 2.0, 1.0, 0.5, 0.2, 0.1])
    inputs["Xe"] = rng.standard_normal((30, 5)) * np.array([4.0, 2.0, 1.0, 0.5, 0.2])
    inputs["ye"] = rng.standard_normal(30)
    inputs.update({name: rng.standard_normal(shape) for name, shape in TORCH_SHAPES.items()})
    return inputs


BODY = """
lam = float(load("lam"))
params = [load("p0"), load("p1"), load("p2")]
for k, p in enumerate(params):
    call(f"penalty_{k}", "l2_penalty", p, lam)
call("penalty_list", "l2_penalty", params, lam)
call("penalty_tuple", "l2_penalty", tuple(params), lam)
call("penalty_valid", "l2_penalty", params[0], 1.0)
call("penalty_negative", "l2_penalty", params, -0.5)

call("grad", "l2_grad", load("w"), lam)

X, y = load("X"), load("y")
for j, r in enumerate([0.0, 0.01, 1.0, 25.0]):
    call(f"ridge_{j}", "ridge_fit", X, y, r)
call("ridge_wide", "ridge_fit", load("Xwide"), load("ywide"), 0.5)
call("ridge_valid", "ridge_fit", X, y, 0.5)
call("ridge_negative", "ridge_fit", X, y, -1e-12)

for j, r in enumerate([0.01, 1.0, 30.0]):
    call(f"shrink_{j}", "shrinkage_factors", load("Xs"), r)
call("shrink_wide", "shrinkage_factors", load("Xwide")[:3, :5], 2.0)
with upstream("test_ridge_eigen_ratios"):   # the course's ridge_fit: only the measurement counts
    for j, r in enumerate([0.1, 1.0, 10.0]):
        call(f"ratios_{j}", "ridge_eigen_ratios", load("Xe"), load("ye"), r)
    # the measurement must follow ridge_fit: changed into ridge plus a tenth of least squares
    course_ridge_fit = ns["ridge_fit"]
    ns["ridge_fit"] = lambda X, y, lam: course_ridge_fit(X, y, lam) + 0.1 * course_ridge_fit(X, y, 0.0)
    call("ratios_follow", "ridge_eigen_ratios", load("Xe"), load("ye"), 1.0)

import torch
from torch import nn
model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).double()
with torch.no_grad():
    for parameter, name in zip(model.parameters(), ["w1", "b1", "g", "beta", "w2", "b2"]):
        parameter.copy_(torch.from_numpy(load(name)))
penalty = call("torch_value", "l2_penalty_torch", model, lam)
save("torch_is_tensor", bool(torch.is_tensor(penalty)))
if torch.is_tensor(penalty) and penalty.requires_grad:
    model.zero_grad()
    penalty.backward()
    for name, parameter in model.named_parameters():
        grad = parameter.grad if parameter.grad is not None else torch.zeros_like(parameter)
        save("torch_grad_" + name.replace(".", "_"), grad)
"""


# test cell -> the functions it builds on: graded with the course's versions of them, so that
# a mistake there costs only its own cells (see regcourse.grading.upstream)
UPSTREAM = {"test_ridge_eigen_ratios": ("ridge_fit",)}


def check_penalty(student, reference, inputs):
    for k, shape in enumerate(SHAPES):
        close(student, reference, f"penalty_{k}", rtol=1e-10, atol=1e-12, what=f"l2_penalty(an array of shape {shape}, lam)")
    close(student, reference, "penalty_list", rtol=1e-10, atol=1e-12, what="l2_penalty(a list of 3 arrays, lam)")
    close(student, reference, "penalty_tuple", rtol=1e-10, atol=1e-12, what="l2_penalty(a tuple of 3 arrays, lam)")


def check_penalty_negative(student, reference, inputs):
    array(student, "penalty_valid", (), "l2_penalty(an array, lam=1), a valid input,")
    raised(student, "penalty_negative", "ValueError", "l2_penalty(params, lam=-0.5)")


def check_grad(student, reference, inputs):
    close(student, reference, "grad", rtol=1e-6, atol=1e-12, what="l2_grad(w, lam)")


def check_ridge(student, reference, inputs):
    for j, lam in enumerate([0.0, 0.01, 1.0, 25.0]):
        close(student, reference, f"ridge_{j}", rtol=1e-6, atol=1e-9, what=f"ridge_fit(X, y, {lam}) with X of shape (30, 5)")
    close(student, reference, "ridge_wide", rtol=1e-6, atol=1e-9, what="ridge_fit(X, y, 0.5) with X of shape (8, 20)")


def check_ridge_negative(student, reference, inputs):
    array(student, "ridge_valid", (5,), "ridge_fit(X, y, 0.5), a valid input,")
    raised(student, "ridge_negative", "ValueError", "ridge_fit(X, y, -1e-12)")


def check_shrinkage(student, reference, inputs):
    cases = [(f"shrink_{j}", f"shrinkage_factors(X, {lam}) with X of shape (20, 6)")
             for j, lam in enumerate([0.01, 1.0, 30.0])]
    cases.append(("shrink_wide", "shrinkage_factors(X, 2.0) with X of shape (3, 5), d > n"))
    for name, what in cases:
        value = student[name]
        if isinstance(value, np.ndarray) and np.iscomplexobj(value):
            raise Wrong(f"{what} returned complex numbers: np.linalg.eigvals does not know that X^T X is "
                        "symmetric; np.linalg.eigvalsh returns its real eigenvalues")
        close(student, reference, name, rtol=1e-8, atol=1e-10, what=what)


def check_eigen_ratios(student, reference, inputs):
    for j, lam in enumerate([0.1, 1.0, 10.0]):
        close(student, reference, f"ratios_{j}", rtol=1e-6, atol=1e-9,
              what=f"ridge_eigen_ratios(X, y, {lam}) with X of shape (30, 5)")
    try:
        close(student, reference, "ratios_follow", rtol=1e-6, atol=1e-9,
              what="ridge_eigen_ratios(X, y, 1.0) with ridge_fit changed")
    except Wrong:
        raise Wrong("ridge_eigen_ratios did not follow ridge_fit: with ridge_fit changed for a moment (into "
                    "ridge plus a tenth of least squares), the ratios did not change with it. The task measures "
                    "your own ridge_fit, so take both solutions from it, ridge_fit(X, y, lam) and "
                    "ridge_fit(X, y, 0.0); ratios computed another way (the predicted factors, or least "
                    "squares by np.linalg.lstsq) do not follow it") from None


def check_torch(student, reference, inputs):
    what = "l2_penalty_torch(model, lam) on a model with batch normalization"
    if student["torch_is_tensor"] is not True:
        raise Wrong(f"{what} did not return a tensor")
    close(student, reference, "torch_value", rtol=1e-5, atol=1e-8, what=what)
    for name in ["0_weight", "0_bias", "1_weight", "1_bias", "3_weight", "3_bias"]:
        close(student, reference, f"torch_grad_{name}", rtol=1e-5, atol=1e-6,
              what=f"the gradient of the penalty with respect to {name.replace('_', '.', 1)}")
    if array(student, "torch_value").shape != ():
        raise Wrong(f"{what} did not return a scalar")


# Small public calls whose results feedback shows when the cell fails: the smallest
# failing example (each list from the smallest input up).
EXAMPLES = {
    "test_l2_penalty": ["l2_penalty(np.array([3.0, 4.0]), 2.0)",
                        "l2_penalty([np.array([1.0]), np.array([[1.0, 1.0]])], 2.0)",
                        "l2_penalty((np.array([1.0]), np.array([2.0])), 1.0)"],
    "test_l2_penalty_rejects_negative_lam": ["l2_penalty(np.array([1.0]), 1.0)", "l2_penalty(np.array([1.0]), -1.0)"],
    "test_l2_grad": ["l2_grad(np.array([1.0, -2.0]), 0.5)"],
    "test_ridge_fit": ["ridge_fit(np.eye(2), np.array([2.0, 4.0]), 1.0)",
                       "ridge_fit(np.array([[1.0], [1.0]]), np.array([1.0, 3.0]), 0.0)",
                       "ridge_fit(np.array([[1.0, 2.0]]), np.array([1.0]), 1.0)"],
    "test_ridge_fit_rejects_negative_lam": ["ridge_fit(np.eye(2), np.ones(2), 0.5)", "ridge_fit(np.eye(2), np.ones(2), -0.5)"],
    "test_shrinkage_factors": ["shrinkage_factors(np.array([[3.0, 0.0], [0.0, 1.0]]), 1.0)",
                               "shrinkage_factors(np.array([[1.0, 1.0]]), 1.0)"],
    "test_ridge_eigen_ratios": ["ridge_eigen_ratios(np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), np.array([2.0, 1.0, 0.0]), 1.0)"],
}


CHECKS = {
    "test_l2_penalty": check_penalty,
    "test_l2_penalty_rejects_negative_lam": check_penalty_negative,
    "test_l2_grad": check_grad,
    "test_ridge_fit": check_ridge,
    "test_ridge_fit_rejects_negative_lam": check_ridge_negative,
    "test_shrinkage_factors": check_shrinkage,
    "test_ridge_eigen_ratios": check_eigen_ratios,
    "test_l2_penalty_torch": check_torch,
}


# The likely cause behind each symptom of this exercise's test cells (see
# regcourse.grading.hints): the first hint that matches a failing cell is shown.
HINTS = [
    Hint(".", r"uses your|fail their own tests",
         "This measurement calls functions you wrote earlier, and one of them is not right yet: its own "
         "test cell names the mistake. Fix that function; this cell then measures what the chapter claims."),
    Hint("test_l2_penalty$", r"factor 1/2 is missing",
         "The course writes the penalty lam/2 ||w||^2 so that its gradient is exactly lam w (L2 chapter, "
         "first equation)."),
    Hint("test_l2_penalty$", r"squares the sum|that uses the norm",
         "Square every entry, then sum: np.sum(p ** 2). Squaring the sum, or taking the norm without "
         "squaring it, is a different function of the weights."),
    Hint("test_l2_penalty$", r"only the first array",
         "params may hold several arrays: loop over all of them and add up their penalties."),
    Hint("test_l2_penalty$", r"tuple",
         "A tuple is a sequence of arrays like a list: test isinstance(params, np.ndarray) for the single "
         "array case, and iterate over anything else."),
    Hint("test_l2_penalty", r"valid input|in your function l2_penalty",
         "The function fails on an input it should accept; the traceback line shown is where. np.ndim and "
         "np.linalg.norm(..., 'fro') do not work on a list of arrays of different shapes or on 1-D arrays."),
    Hint("rejects_negative_lam", r"raise ValueError",
         "Check lam first and raise ValueError when lam < 0; a negative penalty rewards large weights."),
    Hint("test_l2_grad$", r"2 \* lam \* w|not lam \* w",
         "The derivative of lam/2 w^2 is lam w: the 2 of the square cancels the 1/2."),
    Hint("test_ridge_fit$", r"every entry",
         "The penalty adds lam to the diagonal only: X.T @ X + lam * np.eye(d), not X.T @ X + lam."),
    Hint("test_ridge_fit$", r"lam/2",
         "Setting the gradient X^T (Xw - y) + lam w to zero gives (X^T X + lam I) w = X^T y: the 1/2 of "
         "the penalty has already cancelled."),
    Hint("test_ridge_fit$", r"singular|lam = 0",
         "X^T X (or X X^T in the dual form) is singular when there are more features than examples (or "
         "more examples than features); solve (X^T X + lam I) w = X^T y, which lam > 0 makes invertible, "
         "and use least squares for lam = 0."),
    Hint("test_shrinkage_factors$", r"singular values",
         "np.linalg.svd gives the singular values s of X; the eigenvalues of X^T X are their squares s**2 "
         "(L2 chapter, 'The eigen-direction view')."),
    Hint("test_shrinkage_factors$", r"ascending",
         "np.linalg.eigvalsh sorts ascending; the factors follow the eigenvalues in descending order: "
         "reverse with [::-1]."),
    Hint("test_shrinkage_factors$", r"eigvalsh|complex",
         "np.linalg.eigvals does not know that X^T X is symmetric and may return tiny imaginary parts; "
         "np.linalg.eigvalsh returns real eigenvalues."),
    Hint("test_shrinkage_factors$", r"d = \d+ > n = \d+|factors",
         "X^T X is d x d, so there are d eigenvalues, and d - n of them are 0 when d > n; the SVD of X "
         "returns only min(n, d) singular values."),
    Hint("test_ridge_eigen_ratios$", r"ascending",
         "np.linalg.eigh returns the eigenvectors for ascending eigenvalues: reverse its columns, Q[:, ::-1]."),
    Hint("test_ridge_eigen_ratios$", r"upside down",
         "The ratio is the ridge component over the least-squares component, (Q.T @ w_ridge) / (Q.T @ w_ls)."),
    Hint("test_ridge_eigen_ratios$", r"did not follow ridge_fit",
         "The task measures your own ridge_fit: w_ridge = ridge_fit(X, y, lam) and w_ls = ridge_fit(X, y, 0.0), "
         "both projected on the eigenvectors, then divided. The grader checks this by changing ridge_fit for "
         "a moment: ratios from another solver, or from the formula sigma / (sigma + lam), do not change with it."),
    Hint("test_l2_penalty_torch$", r"biases were penalized|one-dimensional",
         "Only the weight matrices (p.ndim > 1) are penalized; biases and normalization parameters are "
         "one-dimensional (L2 chapter, 'In practice')."),
    Hint("test_l2_penalty_torch$", r"no gradient can reach|torch.Tensor",
         "Compute the penalty with torch operations on the parameters themselves (no .item(), .detach() "
         "or numpy), so that autograd can differentiate it."),
]
