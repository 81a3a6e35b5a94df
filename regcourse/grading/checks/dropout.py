"""Trusted checks of ``dropout``: inverted dropout, the exact ensembles, MC dropout."""

import itertools

import numpy as np

from ..hints import Hint
from ..trusted import Wrong, array, close, raised

PS = [0.1, 0.5, 0.8]
ENSEMBLES = [(6, 3, 0.2), (8, 4, 0.5), (10, 5, 0.7)]
COUNT_CALLS, COUNT_SIZE, COUNT_P = 50, 2000, 0.3
EXACT_PS = [0.2, 0.6]


def make_inputs(rng):
    inputs = {"x": rng.standard_normal((400, 500)) + 3.0, "seeds": rng.integers(0, 2**31, size=9),
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
    for name, shape in {"rW1": (5, 6), "rb1": (5,), "rW2": (3, 5), "rb2": (3,), "rx": (6,)}.items():
        inputs[name] = rng.standard_normal(shape)
    for j, _ in enumerate(EXACT_PS):   # dropout on the inputs of a softmax layer, large weights
        inputs[f"exact_w{j}"] = 3 * rng.standard_normal((3, 5))
        inputs[f"exact_b{j}"] = rng.standard_normal(3)
        inputs[f"exact_x{j}"] = rng.standard_normal((2, 5))
    return inputs


BODY = """
seeds = [int(s) for s in load("seeds")]
x = load("x")
for j, p in enumerate([0.1, 0.5, 0.8]):
    result = run(f"forward_{j}", "dropout_forward", x, p, np.random.default_rng(seeds[j]))
    if isinstance(result, (tuple, list)) and len(result) == 2:
        save(f"forward_{j}_out", result[0])
        save(f"forward_{j}_mask", result[1])
counting = np.random.default_rng(seeds[8])
counts = []
for _ in range(50):
    result = run("counts", "dropout_forward", np.ones(2000), 0.3, counting)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        counts = None   # what went wrong is saved already, or nothing usable came back
        break
    counts.append(float(np.sum(np.asarray(result[1]) > 0)))
if counts is not None:
    save("counts", counts)
small = load("small")
for name, p, train in [("eval", 0.5, False), ("p0", 0.0, True), ("p1", 1.0, True), ("valid", 0.5, True)]:
    with np.errstate(all="raise"):
        result = run(f"edge_{name}", "dropout_forward", small, p, np.random.default_rng(seeds[3]), train=train)
    if isinstance(result, (tuple, list)) and len(result) == 2:
        save(f"edge_{name}_out", result[0])
        save(f"edge_{name}_mask", result[1])
for j, p in enumerate([-0.1, 1.5]):
    call(f"invalid_{j}", "dropout_forward", small, p, np.random.default_rng(seeds[4]))
same = [run(f"seeded_{j}", "dropout_forward", np.ones(1000), 0.5, np.random.default_rng(s))
        for j, s in enumerate([seeds[5], seeds[5], seeds[6]])]
for j, result in enumerate(same):
    if isinstance(result, (tuple, list)) and len(result) == 2:
        save(f"seeded_{j}_mask", result[1])

call("backward", "dropout_backward", load("dout"), load("mask"))

for n in [1, 5, 10]:
    call(f"masks_{n}", "all_masks", n)

with upstream("test_softmax_ensemble_geometric"):   # the course's all_masks
    for k, p in enumerate([0.2, 0.5, 0.7]):
        call(f"geometric_{k}", "softmax_ensemble_geometric", load(f"W{k}"), load(f"b{k}"), load(f"v{k}"), p)
for k, p in enumerate([0.2, 0.5, 0.7]):
    W, b, v = load(f"W{k}"), load(f"b{k}"), load(f"v{k}")
    with upstream("test_softmax_ensemble_arithmetic"):
        call(f"arithmetic_{k}", "softmax_ensemble_arithmetic", W, b, v, p)
    for j, q in enumerate([0.0, p, 0.9]):
        call(f"scaling_{k}_{j}", "softmax_weight_scaling", W, b, v, q)

with upstream("test_relu_dropout_gaps"):   # the course's masks, ensemble and weight scaling
    relu_net = (load("rW1"), load("rb1"), load("rW2"), load("rb2"), 2 * load("rx"), 0.4)
    gaps = run("gaps", "relu_dropout_gaps", *relu_net)
    # the hidden gap must follow weight scaling: changed for a moment, a tenth added
    course_scaling, followed = ns.get("softmax_weight_scaling"), None
    if callable(course_scaling):
        ns["softmax_weight_scaling"] = lambda W, b, h, p: course_scaling(W, b, h, p) + 0.1
        followed = run("gaps_follow", "relu_dropout_gaps", *relu_net)
if isinstance(gaps, dict):
    for key in ["inputs", "hidden"]:
        save(f"gaps_{key}", np.asarray(gaps[key]) if key in gaps else None)
if isinstance(followed, dict):
    save("gaps_follow_hidden", np.asarray(followed["hidden"]) if "hidden" in followed else None)

import itertools
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
model.train()
model[1].eval()   # a frozen batch norm inside a model that trains
run("mc_mixed", "mc_dropout_predict", model, xin, 3)
save("mc_mixed_modes", [m.training for m in model.modules()])
for j, p in enumerate([0.2, 0.6]):
    layer = nn.Linear(5, 3).double()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(load(f"exact_w{j}")))
        layer.bias.copy_(torch.from_numpy(load(f"exact_b{j}")))
        xs = torch.from_numpy(load(f"exact_x{j}"))
        exact = sum((1 - p) ** sum(m) * p ** (5 - sum(m))
                    * torch.softmax(layer(xs * torch.tensor(m, dtype=torch.float64) / (1 - p)), dim=-1)
                    for m in itertools.product([0, 1], repeat=5))
    save(f"mc_exact_{j}", exact)
    rows = []
    exact_model = nn.Sequential(nn.Dropout(p), layer).train()
    hook = exact_model.register_forward_hook(lambda module, inputs, output: rows.append(int(inputs[0].shape[0])))
    probs = call(f"mc_{j}", "mc_dropout_predict", exact_model, xs, 2000)
    hook.remove()
    save(f"mc_{j}_rows", sum(rows))
    save(f"mc_{j}_grad", bool(getattr(probs, "requires_grad", False)))
inner = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5)).double()
nested = nn.Sequential(inner, nn.ReLU(), nn.Linear(8, 2)).double().eval()
xs = torch.ones(3, 6, dtype=torch.float64)
outs = [call(f"nested_{j}", "mc_dropout_predict", nested, xs, 1) for j in range(4)]
save("nested_modes", [m.training for m in nested.modules()])
"""


# test cell -> the functions it builds on: graded with the course's versions of them, so that
# a mistake there costs only its own cells (see regcourse.grading.upstream)
UPSTREAM = {
    "test_softmax_ensemble_geometric": ("all_masks",),
    "test_softmax_ensemble_arithmetic": ("all_masks",),
    "test_relu_dropout_gaps": ("all_masks", "softmax_ensemble_geometric", "softmax_weight_scaling"),
}


def check_forward(student, reference, inputs):
    x = inputs["x"]
    for j, p in enumerate(PS):
        call = f"dropout_forward(x, p={p}, rng)"
        out = array(student, f"forward_{j}_out", x.shape, f"{call}'s out")
        mask = array(student, f"forward_{j}_mask", x.shape, f"{call}'s mask")
        values = np.unique(mask)
        if not (len(values) == 2 and np.allclose(values, [0.0, 1 / (1 - p)])):
            raise Wrong(f"with p = {p} the mask holds {values[:4]}, not only 0 and 1/(1-p) = {1 / (1 - p):.4g}")
        kept = np.mean(mask > 0)
        if abs(kept - (1 - p)) > 0.01:  # 200 000 entries: more than 8 standard deviations
            raise Wrong(f"with p = {p}, {kept:.3f} of the units were kept instead of about {1 - p:g}")
        if not np.allclose(out, x * mask):
            raise Wrong(f"with p = {p}, out is not x * mask")
        if any(np.array_equal(mask[0], mask[i]) for i in range(1, 4)):
            raise Wrong("several rows got the same mask: draw an independent mask for every entry")
        per_row = np.sum(mask > 0, axis=1)
        if np.var(per_row) < 0.25 * x.shape[1] * p * (1 - p):
            raise Wrong(f"with p = {p} every row keeps about the same number of units: keep each unit independently")
    counts = array(student, "counts", (COUNT_CALLS,), "dropout_forward(np.ones(2000), 0.3, rng), called 50 times,")
    # binomial counts: the variance of 50 draws falls below a quarter of n p (1 - p) with probability 3e-8
    if np.var(counts) < 0.25 * COUNT_SIZE * COUNT_P * (1 - COUNT_P):
        raise Wrong(f"the number of kept units hardly varies between calls (variance {np.var(counts):.1f}, expected "
                    f"about {COUNT_SIZE * COUNT_P * (1 - COUNT_P):.0f}): keep each unit independently with probability 1 - p")
    first, again, other = (array(student, f"seeded_{j}_mask", (1000,), "dropout_forward's mask") for j in range(3))
    if not np.array_equal(first, again) or np.array_equal(first, other):
        raise Wrong("the mask does not come from the generator rng that is passed in")


def check_evaluation(student, reference, inputs):
    small = inputs["small"]
    if not (np.array_equal(array(student, "edge_eval_out", small.shape, "dropout_forward(x, 0.5, rng, train=False)"), small)
            and np.array_equal(array(student, "edge_eval_mask", small.shape), np.ones_like(small))):
        raise Wrong("at evaluation out must equal x and the mask must be all ones")
    if not np.array_equal(array(student, "edge_p0_out", small.shape, "dropout_forward(x, 0.0, rng)"), small):
        raise Wrong("with p = 0 out must equal x")


def check_p_one(student, reference, inputs):
    small = inputs["small"]
    value = student["edge_p1"]
    if hasattr(value, "is_a") and (value.is_a("FloatingPointError") or value.is_a("ZeroDivisionError")):
        raise Wrong("with p = 1 dropout_forward divided by zero: return zeros without computing 1/(1-p)")
    out = array(student, "edge_p1_out", small.shape, "dropout_forward(x, 1.0, rng)")
    if not (np.array_equal(out, np.zeros_like(small))
            and np.all(np.isfinite(array(student, "edge_p1_mask", small.shape)))):
        raise Wrong("with p = 1 out must be zeros and the mask finite, computed without dividing by zero")


def check_rejects(student, reference, inputs):
    array(student, "edge_valid_out", inputs["small"].shape, "dropout_forward(x, 0.5, rng), with a valid p,")
    for j, p in enumerate([-0.1, 1.5]):
        raised(student, f"invalid_{j}", "ValueError", f"dropout_forward(x, p={p}, rng)")


def check_backward(student, reference, inputs):
    close(student, reference, "backward", rtol=1e-12, atol=0, what="dropout_backward(dout, mask)")


def check_masks(student, reference, inputs):
    for n in [1, 5, 10]:
        masks = array(student, f"masks_{n}", (2 ** n, n), f"all_masks({n})")
        if not set(np.unique(masks)) <= {0.0, 1.0} or len({tuple(r) for r in masks}) != 2 ** n:
            raise Wrong(f"all_masks({n}) does not hold every 0/1 mask exactly once")


def check_geometric(student, reference, inputs):
    for k, (n, _, p) in enumerate(ENSEMBLES):
        close(student, reference, f"geometric_{k}", rtol=0, atol=1e-10,
              what=f"softmax_ensemble_geometric for n = {n}, p = {p}")


def check_arithmetic(student, reference, inputs):
    for k, (n, _, p) in enumerate(ENSEMBLES):
        close(student, reference, f"arithmetic_{k}", rtol=0, atol=1e-12,
              what=f"softmax_ensemble_arithmetic for n = {n}, p = {p}")


def check_scaling(student, reference, inputs):
    for k in range(len(ENSEMBLES)):
        for j in range(3):
            close(student, reference, f"scaling_{k}_{j}", rtol=0, atol=1e-14, what="softmax_weight_scaling")


def _softmax_of_mean_logits(got, inputs, j: int, p: float, k: int) -> bool:
    """Whether ``got`` is the softmax of the logits averaged over ``k`` passes.

    Differences of log-probabilities are differences of the averaged logits, whose spread
    is known exactly: a logit difference a - b varies over passes with variance
    sum_i (W_ai - W_bi)^2 x_i^2 p / (1 - p). Within six standard errors of the mean of k
    passes, on every row and pair of classes, it is that answer. (Comparing probabilities
    with a fixed tolerance instead missed it on some inputs, where k = 2000 passes of
    large logits still spread the answer by more than the tolerance.)"""
    weights, x = inputs[f"exact_w{j}"], inputs[f"exact_x{j}"]
    logits = x @ weights.T + inputs[f"exact_b{j}"]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.asarray(got, dtype=np.float64))
    for a, b in itertools.combinations(range(weights.shape[0]), 2):
        spread = np.sqrt(((weights[a] - weights[b]) ** 2 * x ** 2).sum(axis=1) * p / (1 - p) / k)
        gap = np.abs((logs[:, a] - logs[:, b]) - (logits[:, a] - logits[:, b]))
        if not np.all(gap <= 6 * spread + 1e-9):
            return False
    return True


def check_mc(student, reference, inputs):
    for j, p in enumerate(EXACT_PS):
        label = f"mc_dropout_predict(model, x, k=2000) with dropout p = {p} on the inputs of a softmax layer"
        got = array(student, f"mc_{j}", (2, 3), label)
        exact = array(reference, f"mc_exact_{j}")
        # 2000 passes: each probability has a standard error below 0.012; 0.06 is five of them
        if np.max(np.abs(got - exact)) > 0.06 and _softmax_of_mean_logits(got, inputs, j, p, 2000):
            raise Wrong(f"{label} is the softmax of the mean logits, {np.max(np.abs(got - exact)):.2f} away from "
                        "the expected prediction: average the probabilities of the passes, not the logits")
        if np.max(np.abs(got - exact)) > 0.06:
            raise Wrong(f"{label} is {np.max(np.abs(got - exact)):.2f} away from the exact expected prediction "
                        "(every mask enumerated): average the softmax probabilities of k passes")
        if student[f"mc_{j}_rows"] < 2000 * 2:
            raise Wrong(f"for k = 2000 the model saw {student[f'mc_{j}_rows']} examples: average k passes")
        if student[f"mc_{j}_grad"] is not False:
            raise Wrong("the result carries gradients: run the passes under torch.no_grad()")
    for tag, start in [("train", True), ("eval", False)]:
        # both sides average 2000 passes: even for a probability of 1/2 the gap between
        # them has a standard deviation below 0.016, and 0.08 is five of those
        close(student, reference, f"mc_{tag}", rtol=0, atol=0.08,
              what="mc_dropout_predict on a model with batch normalization")
        if student[f"mc_{tag}_modes"] != [start] * len(reference[f"mc_{tag}_modes"]):
            raise Wrong(f"the modes were not restored to {'training' if start else 'evaluation'}")
        for name in ["running_mean", "running_var"]:
            if not np.array_equal(array(student, f"mc_{tag}_{name}"), inputs[name.replace("running_", "")]):
                raise Wrong("batch normalization updated its running statistics")
        close(student, reference, f"mc_{tag}_eval_output", rtol=0, atol=1e-12, what="the model after the call")
    if student["mc_mixed_modes"] != reference["mc_mixed_modes"]:
        raise Wrong("a module's own mode was not restored (a frozen batch norm in a model that trains)")
    nested = [array(student, f"nested_{j}", (3, 2), "mc_dropout_predict on a nested model") for j in range(4)]
    if all(np.array_equal(nested[0], n) for n in nested[1:]):
        raise Wrong("a nested dropout layer stayed inactive")
    if student["nested_modes"] != reference["nested_modes"]:
        raise Wrong("the nested model's modes were not restored")


def check_gaps(student, reference, inputs):
    what = "relu_dropout_gaps(W1, b1, W2, b2, x, 0.4)"
    close(student, reference, "gaps_inputs", rtol=0, atol=1e-10, what=f"{what}['inputs']")
    hidden = array(student, "gaps_hidden", (3,), f"{what}['hidden']")
    if np.abs(hidden).max() > 1e-10:
        raise Wrong(f"{what}['hidden'] is {hidden}: with the masks on the hidden units the gap is 0 up to rounding")
    followed = array(student, "gaps_follow_hidden", (3,), f"{what}['hidden'] with softmax_weight_scaling changed")
    if not np.allclose(followed, hidden - 0.1, atol=1e-9):
        raise Wrong("the hidden gap did not follow softmax_weight_scaling: with it changed for a moment (a tenth "
                    "added), the gap stayed the same. The task measures the hidden gap with your functions of "
                    "part 4, softmax_ensemble_geometric(W2, b2, h, p) - softmax_weight_scaling(W2, b2, h, p) with "
                    "h = ReLU(W1 x + b1); a gap computed another way, or written down, does not follow them")


# Small public calls whose results feedback shows when the cell fails: the smallest
# failing example (each list from the smallest input up).
EXAMPLES = {
    "test_dropout_forward_evaluation": ["dropout_forward(np.array([1.0, 2.0]), 0.5, np.random.default_rng(0), train=False)",
                                        "dropout_forward(np.array([1.0, 2.0]), 0.0, np.random.default_rng(0))"],
    "test_dropout_forward_p_one": ["dropout_forward(np.array([1.0, 2.0]), 1.0, np.random.default_rng(0))"],
    "test_dropout_forward_rejects_bad_p": ["dropout_forward(np.ones(2), 0.5, np.random.default_rng(0))[0].shape",
                                           "dropout_forward(np.ones(2), 1.5, np.random.default_rng(0))"],
    "test_dropout_backward": ["dropout_backward(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[2.0, 0.0], [0.0, 2.0]]))"],
    "test_softmax_ensemble_geometric": ["softmax_ensemble_geometric(np.array([[1.0, -1.0], [0.0, 1.0]]), np.zeros(2), np.array([1.0, 2.0]), 0.5)"],
    "test_softmax_ensemble_arithmetic": ["softmax_ensemble_arithmetic(np.array([[1.0, -1.0], [0.0, 1.0]]), np.zeros(2), np.array([1.0, 2.0]), 0.2)"],
    "test_softmax_weight_scaling": ["softmax_weight_scaling(np.array([[2.0, 0.0], [0.0, 1.0]]), np.zeros(2), np.array([1.0, 1.0]), 0.75)"],
    "test_relu_dropout_gaps": ["relu_dropout_gaps(np.eye(2), np.zeros(2), np.array([[1.0, -1.0], [0.0, 1.0]]), np.zeros(2), np.array([1.0, -2.0]), 0.5)"],
}


CHECKS = {
    "test_dropout_forward": check_forward,
    "test_dropout_forward_evaluation": check_evaluation,
    "test_dropout_forward_p_one": check_p_one,
    "test_dropout_forward_rejects_bad_p": check_rejects,
    "test_dropout_backward": check_backward,
    "test_all_masks": check_masks,
    "test_softmax_ensemble_geometric": check_geometric,
    "test_softmax_ensemble_arithmetic": check_arithmetic,
    "test_softmax_weight_scaling": check_scaling,
    "test_mc_dropout_predict": check_mc,
    "test_relu_dropout_gaps": check_gaps,
}


# The likely cause behind each symptom of this exercise's test cells (see
# regcourse.grading.hints): the first hint that matches a failing cell is shown.
HINTS = [
    Hint(".", r"uses your|fail their own tests",
         "This measurement calls functions you wrote earlier, and one of them is not right yet: its own "
         "test cell names the mistake. Fix that function; this cell then measures what the chapter claims."),
    Hint("test_dropout_forward$", r"scales the kept units|1/\(1-p\)|inverted dropout",
         "Inverted dropout multiplies the kept units by 1/(1-p) in training, so that their expected value "
         "is unchanged (dropout chapter, 'The mechanism')."),
    Hint("test_dropout_forward", r"probability of dropping|keep probability",
         "p is the probability of dropping a unit (PyTorch's convention): keep it when rng.random() >= p."),
    Hint("test_dropout_forward$", r"same mask|independently|hardly varies",
         "Draw one random number per entry, rng.random(x.shape) >= p: every unit of every example is kept "
         "or dropped independently, so the number kept varies."),
    Hint("test_dropout_forward$", r"generator rng",
         "Draw from the rng passed in (rng.random), not from np.random: the same rng state must give the "
         "same mask."),
    Hint("test_dropout_forward_evaluation$", r"at evaluation|changes nothing|p = 0",
         "With inverted dropout, evaluation returns x unchanged (and a mask of ones): the scaling was done "
         "in training."),
    Hint("test_dropout_forward_p_one$", r"divided by zero|p = 1",
         "When p = 1 every unit is dropped: return zeros before computing 1/(1-p)."),
    Hint("test_dropout_forward_rejects_bad_p$", r"raise ValueError|valid",
         "Check 0 <= p <= 1 first and raise ValueError otherwise, but accept every p in [0, 1]."),
    Hint("test_dropout", r"NotImplementedError", "The function still raises NotImplementedError: replace that "
                                                 "line with your code."),
    Hint("test_dropout_backward$", r"ignores the mask|expected",
         "out = x * mask, so the gradient with respect to x is dout * mask, the same mask, scale included."),
    Hint("test_all_masks$|test_softmax_ensemble", r"appear twice|every 0/1 mask",
         "Enumerate the masks, do not sample them: the binary digits of 0 .. 2^n - 1 give each mask once."),
    Hint("test_softmax_ensemble_geometric$", r"unweighted geometric mean|normalized",
         "Average the members' log-probabilities weighted by (1-p)^|m| p^(n-|m|), then normalize with a "
         "softmax; build the members with all_masks (the closed form is what you compare with)."),
    Hint("test_softmax_ensemble", r"mean of the 8 members|should equal softmax|should be",
         "The ensembles enumerate the masks of all_masks: if its test fails, fix it first. Then weight each "
         "member by (1-p)^|m| p^(n-|m|), and normalize the geometric mean with a softmax of the weighted "
         "log-probabilities."),
    Hint("test_softmax_ensemble_arithmetic$", r"unweighted mean",
         "Weight each member's probabilities by its mask's probability (1-p)^|m| p^(n-|m|)."),
    Hint("test_softmax_weight_scaling$", r"keep probability",
         "Weight scaling multiplies the weights by the keep probability 1 - p, not by p."),
    Hint("test_mc_dropout_predict$", r"batch normalization|training mode",
         "Put the whole model in evaluation mode, then only the dropout layers in training mode: batch "
         "normalization must use its running statistics."),
    Hint("test_mc_dropout_predict$", r"restore|mode",
         "Remember every module's own mode before the passes (m.training for m in model.modules()) and "
         "set each one back afterwards."),
    Hint("test_mc_dropout_predict$", r"logits",
         "Average the softmax probabilities of the passes; the softmax of the averaged logits is a "
         "different prediction (dropout chapter, Monte-Carlo dropout)."),
    Hint("test_mc_dropout_predict$", r"passes|examples",
         "Run k stochastic passes (or one pass on the batch repeated k times) and average them."),
    Hint("test_mc_dropout_predict$", r"no_grad|gradients",
         "Run the passes under torch.no_grad(): a prediction needs no graph."),
    Hint("test_relu_dropout_gaps$", r"did not follow softmax_weight_scaling",
         "Measure the hidden gap with part 4's functions on h = ReLU(W1 x + b1): "
         "softmax_ensemble_geometric(W2, b2, h, p) - softmax_weight_scaling(W2, b2, h, p). The grader "
         "changes softmax_weight_scaling for a moment, and a measured gap moves with it."),
    Hint("test_relu_dropout_gaps$", r".",
         "Masks on the inputs: each member is softmax(W2 ReLU(W1 (u * x) + b1) + b2), the mask inside the "
         "ReLU; masks on the hidden units: a softmax layer of h = ReLU(W1 x + b1), where part 4's functions "
         "apply."),
]
