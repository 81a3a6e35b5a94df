"""Trusted checks of ``dropout``: inverted dropout, the exact ensembles, MC dropout."""

import numpy as np

from ..trusted import Wrong, array, close, raised

PS = [0.1, 0.5, 0.8]
ENSEMBLES = [(6, 3, 0.2), (8, 4, 0.5), (10, 5, 0.7)]


def make_inputs(rng):
    inputs = {"x": rng.standard_normal((400, 500)) + 3.0, "seeds": rng.integers(0, 2**31, size=8),
              "small": np.arange(6.0).reshape(2, 3), "dout": rng.standard_normal((4, 5)),
              "mask": (rng.random((4, 5)) > 0.4) / 0.6}
    for k, (n, k_classes, _) in enumerate(ENSEMBLES):
        inputs[f"W{k}"] = rng.standard_normal((k_classes, n))
        inputs[f"b{k}"] = rng.standard_normal(k_classes)
        inputs[f"v{k}"] = rng.standard_normal(n)
    for name, shape in {"l1w": (32, 6), "l1b": (32,), "bnw": (32,), "bnb": (32,), "mean": (32,),
                        "l2w": (4, 32), "l2b": (4,), "xin": (1, 6)}.items():
        inputs[name] = rng.standard_normal(shape)
    inputs["var"] = rng.uniform(0.5, 2.0, 32)
    return inputs


BODY = """
seeds = [int(s) for s in load("seeds")]
x = load("x")
for j, p in enumerate([0.1, 0.5, 0.8]):
    result = run(f"forward_{j}", "dropout_forward", x, p, np.random.default_rng(seeds[j]))
    if isinstance(result, tuple) and len(result) == 2:
        save(f"forward_{j}_out", result[0])
        save(f"forward_{j}_mask", result[1])
small = load("small")
for name, p, train in [("eval", 0.5, False), ("p0", 0.0, True), ("p1", 1.0, True)]:
    with np.errstate(all="raise"):
        result = run(f"edge_{name}", "dropout_forward", small, p, np.random.default_rng(seeds[3]), train=train)
    if isinstance(result, tuple) and len(result) == 2:
        save(f"edge_{name}_out", result[0])
        save(f"edge_{name}_mask", result[1])
for j, p in enumerate([-0.1, 1.5]):
    call(f"invalid_{j}", "dropout_forward", small, p, np.random.default_rng(seeds[4]))
same = [run(f"seeded_{j}", "dropout_forward", np.ones(1000), 0.5, np.random.default_rng(s))
        for j, s in enumerate([seeds[5], seeds[5], seeds[6]])]
for j, result in enumerate(same):
    if isinstance(result, tuple) and len(result) == 2:
        save(f"seeded_{j}_mask", result[1])

call("backward", "dropout_backward", load("dout"), load("mask"))

for n in [1, 5, 10]:
    call(f"masks_{n}", "all_masks", n)

for k, p in enumerate([0.2, 0.5, 0.7]):
    W, b, v = load(f"W{k}"), load(f"b{k}"), load(f"v{k}")
    call(f"geometric_{k}", "softmax_ensemble_geometric", W, b, v, p)
    call(f"arithmetic_{k}", "softmax_ensemble_arithmetic", W, b, v, p)
    for j, q in enumerate([0.0, p, 0.9]):
        call(f"scaling_{k}_{j}", "softmax_weight_scaling", W, b, v, q)

import torch
from torch import nn
torch.manual_seed(seeds[7] % 2**31)
model = nn.Sequential(nn.Linear(6, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 4)).double()
with torch.no_grad():
    for parameter, name in zip(list(model.parameters()), ["l1w", "l1b", "bnw", "bnb", "l2w", "l2b"]):
        parameter.copy_(torch.from_numpy(load(name)))
    model[1].running_mean.copy_(torch.from_numpy(load("mean")))
    model[1].running_var.copy_(torch.from_numpy(load("var")))
xin = torch.from_numpy(load("xin"))
for start in [True, False]:
    model.train(start)
    tag = "train" if start else "eval"
    call(f"mc_{tag}", "mc_dropout_predict", model, xin, 2000)
    save(f"mc_{tag}_modes", [m.training for m in model.modules()])
    save(f"mc_{tag}_running_mean", model[1].running_mean)
    save(f"mc_{tag}_running_var", model[1].running_var)
    model.eval()
    with torch.no_grad():
        save(f"mc_{tag}_eval_output", torch.softmax(model(xin), dim=-1))
inner = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5)).double()
nested = nn.Sequential(inner, nn.ReLU(), nn.Linear(8, 2)).double().eval()
xs = torch.ones(3, 6, dtype=torch.float64)
outs = [call(f"nested_{j}", "mc_dropout_predict", nested, xs, 1) for j in range(4)]
save("nested_modes", [m.training for m in nested.modules()])
"""


def check_forward(student, reference, inputs):
    x = inputs["x"]
    for j, p in enumerate(PS):
        out = array(student, f"forward_{j}_out", x.shape)
        mask = array(student, f"forward_{j}_mask", x.shape)
        values = np.unique(mask)
        if not (len(values) == 2 and np.allclose(values, [0.0, 1 / (1 - p)])):
            raise Wrong(f"with p = {p} the mask holds {values[:4]}, not 0 and 1/(1-p)")
        kept = np.mean(mask > 0)
        if abs(kept - (1 - p)) > 0.01:  # 200 000 entries: more than 8 standard deviations
            raise Wrong(f"with p = {p}, {kept:.3f} of the units were kept")
        if not np.allclose(out, x * mask):
            raise Wrong("out is not x * mask")
        if any(np.array_equal(mask[0], mask[i]) for i in range(1, 4)):
            raise Wrong("rows share one mask")
    first, again, other = (array(student, f"seeded_{j}_mask", (1000,)) for j in range(3))
    if not np.array_equal(first, again) or np.array_equal(first, other):
        raise Wrong("the mask does not come from the generator that is passed in")


def check_edges(student, reference, inputs):
    small = inputs["small"]
    if not (np.array_equal(array(student, "edge_eval_out", small.shape), small)
            and np.array_equal(array(student, "edge_eval_mask", small.shape), np.ones_like(small))):
        raise Wrong("at evaluation out must equal x and the mask must be ones")
    if not np.array_equal(array(student, "edge_p0_out", small.shape), small):
        raise Wrong("with p = 0 out must equal x")
    if not (np.array_equal(array(student, "edge_p1_out", small.shape), np.zeros_like(small))
            and np.all(np.isfinite(array(student, "edge_p1_mask", small.shape)))):
        raise Wrong("with p = 1 out must be zeros, computed without dividing by zero")
    for j in range(2):
        raised(student, f"invalid_{j}", "ValueError")


def check_backward(student, reference, inputs):
    close(student, reference, "backward", rtol=1e-12, atol=0)


def check_masks(student, reference, inputs):
    for n in [1, 5, 10]:
        masks = array(student, f"masks_{n}", (2 ** n, n))
        if not set(np.unique(masks)) <= {0.0, 1.0} or len({tuple(r) for r in masks}) != 2 ** n:
            raise Wrong(f"all_masks({n}) does not hold every 0/1 mask exactly once")


def check_geometric(student, reference, inputs):
    for k in range(len(ENSEMBLES)):
        close(student, reference, f"geometric_{k}", rtol=0, atol=1e-10)


def check_arithmetic(student, reference, inputs):
    for k in range(len(ENSEMBLES)):
        close(student, reference, f"arithmetic_{k}", rtol=0, atol=1e-12)


def check_scaling(student, reference, inputs):
    for k in range(len(ENSEMBLES)):
        for j in range(3):
            close(student, reference, f"scaling_{k}_{j}", rtol=0, atol=1e-14)


def check_mc(student, reference, inputs):
    for tag, start in [("train", True), ("eval", False)]:
        # both sides average 2000 passes: even for a probability of 1/2 the gap between
        # them has a standard deviation below 0.016, and 0.08 is five of those
        close(student, reference, f"mc_{tag}", rtol=0, atol=0.08)
        if student[f"mc_{tag}_modes"] != [start] * len(reference[f"mc_{tag}_modes"]):
            raise Wrong(f"the modes were not restored to {'training' if start else 'evaluation'}")
        for name in ["running_mean", "running_var"]:
            if not np.array_equal(array(student, f"mc_{tag}_{name}"), inputs[name.replace("running_", "")]):
                raise Wrong("batch normalization updated its running statistics")
        close(student, reference, f"mc_{tag}_eval_output", rtol=0, atol=1e-12)
    nested = [array(student, f"nested_{j}", (3, 2)) for j in range(4)]
    if all(np.array_equal(nested[0], n) for n in nested[1:]):
        raise Wrong("a nested dropout layer stayed inactive")
    if student["nested_modes"] != reference["nested_modes"]:
        raise Wrong("the nested model's modes were not restored")


CHECKS = {
    "test_dropout_forward": check_forward,
    "test_dropout_forward_edge_cases": check_edges,
    "test_dropout_backward": check_backward,
    "test_all_masks": check_masks,
    "test_softmax_ensemble_geometric": check_geometric,
    "test_softmax_ensemble_arithmetic": check_arithmetic,
    "test_softmax_weight_scaling": check_scaling,
    "test_mc_dropout_predict": check_mc,
}
