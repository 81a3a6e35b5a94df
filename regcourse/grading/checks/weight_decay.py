"""Trusted checks of ``weight_decay``: SGD with L2 and decoupled decay, Adam, AdamW, groups."""

import numpy as np

from ..hints import Hint
from ..trusted import Wrong, array, close

STEPS = 100
SGD_SETTINGS = [(0.1, 0.0), (0.01, 0.5), (1.0, 3.0)]
SETTINGS = [(1e-2, 0.0, (0.9, 0.999), 1e-8), (3e-3, 0.1, (0.9, 0.999), 1e-8), (1e-2, 1.0, (0.8, 0.99), 1e-6)]


def make_inputs(rng):
    inputs = {"w": rng.standard_normal((3, 5)), "g": rng.standard_normal((3, 5)),
              "grads": np.array([1e-3, 1.0, 10.0, 100.0]) * rng.standard_normal((STEPS, 3, 4)),
              "w0": rng.standard_normal((3, 4)), "wm": rng.standard_normal(5),
              "gm": rng.standard_normal((30, 5)), "noise_seed": rng.integers(0, 2**31, size=1)}
    return inputs


BODY = """
w, g = load("w"), load("g")
for j, (lr, lam) in enumerate([(0.1, 0.0), (0.01, 0.5), (1.0, 3.0)]):
    call(f"sgd_{j}", "sgd_l2_step", w, g, lr, lam)
save("w_after", w)

state = run("init_t", "init_adam_state", load("w0"))
if isinstance(state, dict):
    save("init_t", state.get("t"))
    save("init_m", state.get("m"))
    save("init_v", state.get("v"))

settings = [(1e-2, 0.0, (0.9, 0.999), 1e-8), (3e-3, 0.1, (0.9, 0.999), 1e-8), (1e-2, 1.0, (0.8, 0.99), 1e-6)]
for function in ["adam_step", "adamw_step"]:
    with upstream(f"test_{function}"):   # the course's init_adam_state
        for j, (lr, decay, betas, eps) in enumerate(settings):
            key = "lam" if function == "adam_step" else "wd"
            final = f"{function}_{j}_final"
            try:
                w_k, state = load("w0"), ns["init_adam_state"](load("w0"))
                for k, grad in enumerate(load("grads")):
                    # each step within the function's time limit (none once it ran out): what
                    # it raised, or that it ran out, is saved as the final value
                    w_k = run(final, function, w_k, grad, state, lr, **{key: decay}, betas=betas, eps=eps)
                    if raised(final):
                        break
                    if k == 0:
                        save(f"{function}_{j}_first", w_k)
                else:
                    save(final, w_k)
                    save(f"{function}_{j}_t", state["t"])
                    save(f"{function}_{j}_m", state["m"])
                    save(f"{function}_{j}_v", state["v"])
            except BaseException as exc:
                save_error(final, exc)

wm, gm = load("wm"), list(load("gm"))
for j, (momentum, decay, decoupled) in enumerate([(0.9, 0.05, False), (0.9, 0.05, True), (0.5, 0.2, False)]):
    call(f"momentum_{j}", "sgd_momentum_trajectory", wm, gm, 0.1, momentum, decay, decoupled=decoupled)
save("momentum_w0_after", wm)
scales = np.array([20.0, 1.0, 0.01])
with upstream("test_adam_decay_by_gradient_scale"):   # the course's Adam and AdamW
    decays = run("adam_decay", "adam_decay_by_gradient_scale", scales, 200, 3e-3, 0.3,
                 np.random.default_rng(int(load("noise_seed")[0])))
if isinstance(decays, dict):
    for key in ["adam_l2", "adamw"]:
        save(f"adam_decay_{key}", np.asarray(decays[key]) if key in decays else None)

import torch
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Conv1d(2, 3, 3), nn.BatchNorm1d(3), nn.Flatten(), nn.Linear(12, 5),
                      nn.LayerNorm(5), nn.Linear(5, 1, bias=False))
names = {id(p): n for n, p in model.named_parameters()}
groups = run("groups", "decay_param_groups", model, 0.3)
try:
    described = [{"params": [names.get(id(p), "?") for p in group["params"]],
                  "weight_decay": float(group["weight_decay"]),
                  "is_list": isinstance(group["params"], list)} for group in groups]
    save("groups", described)
except BaseException as exc:
    save_error("groups", exc)
"""


# test cell -> the functions it builds on: graded with the course's versions of them, so that
# a mistake there costs only its own cells (see regcourse.grading.upstream)
UPSTREAM = {
    "test_adam_step": ("init_adam_state",),
    "test_adamw_step": ("init_adam_state",),
    "test_adam_decay_by_gradient_scale": ("init_adam_state", "adam_step", "adamw_step"),
}


def check_sgd(student, reference, inputs):
    for j, (lr, lam) in enumerate(SGD_SETTINGS):
        close(student, reference, f"sgd_{j}", rtol=1e-12, atol=1e-14, what=f"sgd_l2_step(w, grad, lr={lr}, lam={lam})")
    if not np.array_equal(array(student, "w_after"), inputs["w"]):
        raise Wrong("a step function changed w in place: return a new array and leave w unchanged")


def check_init(student, reference, inputs):
    if student["init_t"] != 0 or isinstance(student["init_t"], bool):
        raise Wrong("init_adam_state's step counter t does not start at 0")
    for name in ["init_m", "init_v"]:
        if np.any(array(student, name, inputs["w0"].shape, f"init_adam_state(w)'s {name[-1]}") != 0):
            raise Wrong(f"init_adam_state(w)'s {name[-1]} does not start at zero")


def _check_optimizer(function):
    def check(student, reference, inputs):
        for j in range(len(SETTINGS)):
            close(student, reference, f"{function}_{j}_first", rtol=1e-6, atol=1e-9,
                  what=f"the first step of {function} (setting {j + 1} of {len(SETTINGS)})")
            expected = array(reference, f"{function}_{j}_final")
            got = array(student, f"{function}_{j}_final", expected.shape)
            err = np.max(np.abs(got - expected) / (np.abs(expected) + 1e-3))
            if not err < 1e-6:
                raise Wrong(f"{function} departs from PyTorch after {STEPS} steps (relative error {err:.1e})")
            if student[f"{function}_{j}_t"] != STEPS:
                raise Wrong(f"after {STEPS} steps t is {student[f'{function}_{j}_t']}")
    return check


def check_groups(student, reference, inputs):
    groups, expected = student["groups"], reference["groups"]
    if not isinstance(groups, list) or len(groups) != len(expected):
        raise Wrong(f"expected {len(expected)} parameter groups, got {str(groups)[:80]}")
    listed = [name for group in groups for name in group["params"]]
    if len(listed) != len(set(listed)):
        raise Wrong("a parameter is listed twice")
    for got, want in zip(groups, expected):
        if sorted(got["params"]) != sorted(want["params"]) or got["weight_decay"] != want["weight_decay"]:
            raise Wrong(f"group {got['params']} with weight_decay {got['weight_decay']} "
                        f"instead of {want['params']} with {want['weight_decay']}")
        if not got["is_list"]:
            raise Wrong("a group's params are not a list")


def check_momentum(student, reference, inputs):
    for j, (momentum, decay, decoupled) in enumerate([(0.9, 0.05, False), (0.9, 0.05, True), (0.5, 0.2, False)]):
        close(student, reference, f"momentum_{j}", rtol=1e-8, atol=1e-10,
              what=f"sgd_momentum_trajectory(w0, grads, 0.1, {momentum}, {decay}, decoupled={decoupled})")
    if not np.array_equal(array(student, "momentum_w0_after"), inputs["wm"]):
        raise Wrong("sgd_momentum_trajectory changed w0 in place")


def check_adam_decay(student, reference, inputs):
    for key in ["adam_l2", "adamw"]:
        close(student, reference, f"adam_decay_{key}", rtol=1e-6, atol=1e-9,
              what=f"adam_decay_by_gradient_scale([20, 1, 0.01], 200, 3e-3, 0.3, rng)[{key!r}]")


# Small public calls whose results feedback shows when the cell fails: the smallest
# failing example (each list from the smallest input up).
EXAMPLES = {
    "test_sgd_l2_step": ["sgd_l2_step(np.array([1.0, -2.0]), np.array([0.5, 0.5]), 0.1, 0.2)"],
    "test_init_adam_state": ["init_adam_state(np.ones(2))"],
    "test_adam_step": ["adam_step(np.array([1.0, 1.0]), np.array([4.0, -0.01]), {'t': 0, 'm': np.zeros(2), 'v': np.zeros(2)}, 0.1)",
                       "adam_step(np.array([1.0]), np.array([0.0]), {'t': 0, 'm': np.zeros(1), 'v': np.zeros(1)}, 0.1, lam=0.5)"],
    "test_adamw_step": ["adamw_step(np.array([2.0, -4.0]), np.zeros(2), {'t': 0, 'm': np.zeros(2), 'v': np.zeros(2)}, 0.1, wd=0.5)",
                        "adamw_step(np.array([2.0]), np.array([3.0]), {'t': 0, 'm': np.zeros(1), 'v': np.zeros(1)}, 0.1, wd=0.5)"],
    "test_sgd_momentum_trajectory": [
        "sgd_momentum_trajectory(np.array([1.0]), [np.array([0.5]), np.array([0.5])], 0.1, 0.9, 0.2)",
        "sgd_momentum_trajectory(np.array([1.0]), [np.array([0.5]), np.array([0.5])], 0.1, 0.9, 0.2, decoupled=True)",
    ],
    "test_adam_decay_by_gradient_scale": ["adam_decay_by_gradient_scale(np.array([1.0]), 3, 0.1, 0.5, np.random.default_rng(0))"],
}


CHECKS = {
    "test_sgd_l2_step": check_sgd,
    "test_init_adam_state": check_init,
    "test_adam_step": _check_optimizer("adam_step"),
    "test_adamw_step": _check_optimizer("adamw_step"),
    "test_decay_param_groups": check_groups,
    "test_sgd_momentum_trajectory": check_momentum,
    "test_adam_decay_by_gradient_scale": check_adam_decay,
}


# The likely cause behind each symptom of this exercise's test cells (see
# regcourse.grading.hints): the first hint that matches a failing cell is shown.
HINTS = [
    Hint(".", r"uses your|fail their own tests",
         "This measurement calls functions you wrote earlier, and one of them is not right yet: its own "
         "test cell names the mistake. Fix that function; this cell then measures what the chapter claims."),
    Hint("test_sgd_l2_step$", r"penalty is missing|2 \* lam \* w|not 2 \* lam",
         "The gradient of lam/2 ||w||^2 is lam w: the step is w - lr * (grad + lam * w)."),
    Hint("test_sgd_momentum_trajectory$", r"decoupled trajectory is wrong",
         "PyTorch's decoupled decay is scaled by the learning rate: (1 - lr * decay) * w, applied to the "
         "weights before the step, outside the momentum buffer (weight-decay chapter)."),
    Hint("test_init_adam_state$|test_adam|test_adamw", r"starts at 0|start at zero",
         "Adam's counter starts at 0 and is incremented before the bias correction, so the first step "
         "uses t = 1."),
    Hint("test_adam_step$", r"bias correction|3.16",
         "Divide m by 1 - beta1^t and v by 1 - beta2^t: without the correction the first steps are too "
         "large or too small."),
    Hint("test_adam_step$", r"eps",
         "eps goes outside the square root: m_hat / (np.sqrt(v_hat) + eps), as PyTorch computes it."),
    Hint("test_adam_step$", r"increment t|first Adam step moved",
         "Update state['t'] (and m, v) in place before using them: the next call continues from state."),
    Hint("test_adam_step$", r"grad \+ lam \* w",
         "Adam with an L2 penalty feeds grad + lam * w to the moments: the penalty goes through Adam's "
         "normalization (that is the point the chapter makes)."),
    Hint("test_adamw_step$", r"Adam with an L2 penalty|decay went through",
         "AdamW keeps the decay out of the moments: shrink w by (1 - lr * wd), then the Adam step on grad "
         "alone."),
    Hint("test_adamw_step$", r"adamw_step returned|departs from torch",
         "Check the pieces in order: init_adam_state's counter starts at 0, t is incremented before the "
         "bias correction, and the decay multiplies the previous weights by (1 - lr * wd) outside the "
         "moments."),
    Hint("test_adamw_step$", r"not scaled by the learning rate",
         "PyTorch's AdamW multiplies w by 1 - lr * wd, the decay scaled by the learning rate."),
    Hint("test_adamw_step$", r"updated weights",
         "Decay the previous weights, then add the Adam step: (1 - lr * wd) * w - lr * m_hat / (sqrt + eps)."),
    Hint("test_decay_param_groups$", r"bias|listed twice|no group|one-dimensional",
         "Put each parameter in exactly one group: ndim > 1 in the decayed one, ndim <= 1 in the other."),
    Hint("test_sgd_momentum_trajectory$", r".",
         "L2: the penalty gradient goes into the buffer, b = momentum * b + (g + decay * w). Decoupled: "
         "shrink w by (1 - lr * decay) outside the buffer, b = momentum * b + g. Then w = w - lr * b."),
    Hint("test_adam_decay_by_gradient_scale$", r".",
         "Draw the noise once, rng.standard_normal((steps, len(scales))) * scales, and run both optimizers "
         "from w = 1 on that same noise, each with a fresh state from init_adam_state."),
]
