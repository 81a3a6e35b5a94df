"""The `dropout` grader is fair: each plausible wrong answer loses exactly the points of
the test cells it breaks, with feedback that names the mistake; the solution keeps them
all, and the statistical tests never fail a correct answer."""

import pytest

from fairness import check_mutant, check_passes_over_seeds, mutant, result_of
from regcourse.authoring.notebooks import read, source_notebook

FWD, BWD = "test_dropout_forward", "test_dropout_backward"
EVAL, P1, BADP = "test_dropout_forward_evaluation", "test_dropout_forward_p_one", "test_dropout_forward_rejects_bad_p"
MASKS, GEO, ARI = "test_all_masks", "test_softmax_ensemble_geometric", "test_softmax_ensemble_arithmetic"
SCALE, MC = "test_softmax_weight_scaling", "test_mc_dropout_predict"
GAPS = "test_relu_dropout_gaps"
GAPS_DEF = ("def relu_dropout_gaps(W1, b1, W2, b2, x, p):\n"
            "    h = np.maximum(W1 @ x + b1, 0)\n"
            "    hidden = softmax_ensemble_geometric(W2, b2, h, p) - softmax_weight_scaling(W2, b2, h, p)\n")

FWD_DEF = ("def dropout_forward(x, p, rng, train=True):\n"
           "    if not 0.0 <= p <= 1.0:\n        raise ValueError('p')\n"
           "    x = np.asarray(x, dtype=float)\n"
           "    if not train or p == 0.0:\n        return x.copy(), np.ones_like(x)\n"
           "    if p == 1.0:\n        return np.zeros_like(x), np.zeros_like(x)\n")
WEIGHTS = ("    masks = all_masks(len(x))\n    kept = masks.sum(axis=1)\n"
           "    weights = (1 - p) ** kept * p ** (len(x) - kept)\n")
MC_DEF = "def mc_dropout_predict(model, x, k):\n"
PASSES = "        return torch.stack([torch.softmax(model(x), dim=-1) for _ in range(k)]).mean(dim=0)\n"

MUTANTS = [
    mutant("ReLU gap with the mask after the ReLU", "relu_dropout_gaps", GAPS_DEF +
           "    return {'inputs': softmax_ensemble_geometric(W2, b2, h, p) - softmax_weight_scaling(W2, b2, h, p),\n"
           "            'hidden': hidden}", {GAPS}, "inside the ReLU"),
    mutant("ReLU gap with unweighted members", "relu_dropout_gaps", GAPS_DEF +
           "    masks = all_masks(len(x))\n"
           "    logits = np.maximum((masks * x) @ W1.T + b1, 0) @ W2.T + b2\n"
           "    geometric = softmax(np.mean(np.log(softmax(logits)), axis=0))\n"
           "    scaled = softmax(W2 @ np.maximum((1 - p) * W1 @ x + b1, 0) + b2)\n"
           "    return {'inputs': geometric - scaled, 'hidden': hidden}", {GAPS}, "weight each member"),
    mutant("hidden gap written down as zeros", "relu_dropout_gaps",
           "def relu_dropout_gaps(W1, b1, W2, b2, x, p):\n" + WEIGHTS +
           "    z = np.maximum((masks * x) @ W1.T + b1, 0) @ W2.T + b2\n"
           "    geometric = softmax(weights @ np.log(softmax(z)))\n"
           "    scaled = softmax(W2 @ np.maximum((1 - p) * W1 @ x + b1, 0) + b2)\n"
           "    return {'inputs': geometric - scaled, 'hidden': np.zeros(len(b2))}",
           {GAPS}, "did not follow softmax_weight_scaling"),
    mutant("no 1/(1-p) scaling", "dropout_forward",
           FWD_DEF + "    mask = (rng.random(x.shape) >= p).astype(float)\n    return x * mask, mask",
           {FWD}, "scales the kept units"),
    mutant("scaled at evaluation too", "dropout_forward",
           "def dropout_forward(x, p, rng, train=True):\n"
           "    if not 0.0 <= p <= 1.0:\n        raise ValueError('p')\n"
           "    x = np.asarray(x, dtype=float)\n"
           "    if not train:\n        return (1 - p) * x, np.full_like(x, 1 - p)\n"
           "    if p == 0.0:\n        return x.copy(), np.ones_like(x)\n"
           "    if p == 1.0:\n        return np.zeros_like(x), np.zeros_like(x)\n"
           "    mask = (rng.random(x.shape) >= p) / (1 - p)\n    return x * mask, mask",
           {EVAL}, "at evaluation inverted dropout changes nothing"),
    mutant("p taken as the keep probability", "dropout_forward",
           "def dropout_forward(x, p, rng, train=True):\n"
           "    if not 0.0 <= p <= 1.0:\n        raise ValueError('p')\n"
           "    x = np.asarray(x, dtype=float)\n"
           "    if not train:\n        return x.copy(), np.ones_like(x)\n"
           "    mask = (rng.random(x.shape) < p) / p\n    return x * mask, mask",
           {FWD, EVAL, P1}, "probability of dropping"),
    mutant("one mask shared across the batch", "dropout_forward",
           FWD_DEF + "    row = (rng.random(x.shape[-1]) >= p) / (1 - p)\n"
           "    mask = np.broadcast_to(row, x.shape).copy()\n    return x * mask, mask",
           {FWD}, "same mask"),
    mutant("division by zero at p = 1", "dropout_forward",
           "def dropout_forward(x, p, rng, train=True):\n"
           "    if not 0.0 <= p <= 1.0:\n        raise ValueError('p')\n"
           "    x = np.asarray(x, dtype=float)\n"
           "    if not train:\n        return x.copy(), np.ones_like(x)\n"
           "    mask = (rng.random(x.shape) >= p) / (1 - p)\n    return x * mask, mask",
           {P1}, "divided by zero"),
    mutant("p outside [0, 1] accepted", "dropout_forward",
           FWD_DEF.replace("    if not 0.0 <= p <= 1.0:\n        raise ValueError('p')\n", "") +
           "    mask = (rng.random(x.shape) >= p) / (1 - p)\n    return x * mask, mask",
           {BADP}, "raise ValueError"),
    mutant("backward ignores the mask", "dropout_backward",
           "def dropout_backward(dout, mask):\n    return dout", {BWD}, "ignores the mask"),
    mutant("random masks with repeats", "all_masks",
           "def all_masks(n):\n    return np.random.default_rng(0).integers(0, 2, size=(2 ** n, n))",
           {MASKS}, "appear twice"),
    mutant("unweighted geometric mean", "softmax_ensemble_geometric",
           "def softmax_ensemble_geometric(W, b, x, p):\n    masks = all_masks(len(x))\n"
           "    return softmax(np.mean(np.log(softmax((masks * x) @ W.T + b)), axis=0))",
           {GEO}, "unweighted geometric mean"),
    mutant("geometric mean not normalized", "softmax_ensemble_geometric",
           "def softmax_ensemble_geometric(W, b, x, p):\n" + WEIGHTS +
           "    return np.exp(weights @ np.log(softmax((masks * x) @ W.T + b)))",
           {GEO}, "normalized"),
    mutant("unweighted arithmetic mean", "softmax_ensemble_arithmetic",
           "def softmax_ensemble_arithmetic(W, b, x, p):\n    masks = all_masks(len(x))\n"
           "    return softmax((masks * x) @ W.T + b).mean(axis=0)",
           {ARI}, "unweighted mean"),
    mutant("weight scaling by p", "softmax_weight_scaling",
           "def softmax_weight_scaling(W, b, x, p):\n    return softmax(p * (W @ x) + b)",
           {SCALE}, "keep probability 1 - p"),
    mutant("MC dropout puts the whole model in training mode", "mc_dropout_predict",
           MC_DEF + "    was = model.training\n    model.train()\n    try:\n        with torch.no_grad():\n"
           "    " + PASSES + "    finally:\n        model.train(was)",
           {MC}, "batch normalization ran in training mode"),
    mutant("MC dropout does not restore the modes", "mc_dropout_predict",
           MC_DEF + "    model.eval()\n    for m in model.modules():\n"
           "        if isinstance(m, nn.modules.dropout._DropoutNd):\n            m.train()\n"
           "    with torch.no_grad():\n" + PASSES.replace("        return", "        return", 1),
           {MC}, "must be in training mode after"),
]


@pytest.mark.parametrize("m", MUTANTS, ids=str)
def test_wrong_answer_loses_exactly_its_points(m):
    check_mutant(result_of("fairness", "dropout", MUTANTS, m), m)


@pytest.mark.tier2
def test_solution_passes_every_test_over_20_seeds():
    check_passes_over_seeds("dropout")


@pytest.mark.tier2
def test_statistical_tests_never_fail_a_correct_answer_over_200_seeds():
    """The dropout_forward tests check frequencies; their tolerances hold for every seed."""
    import copy

    from fairness import run_tests_in_process

    nb = read(source_notebook("dropout"))
    keep = {"test_dropout_forward"}
    light = copy.deepcopy(nb)
    light.cells = [c for c in light.cells
                   if c.cell_type != "code" or not c.metadata.get("nbgrader", {}).get("grade")
                   or c.metadata["nbgrader"].get("solution") or c.metadata["nbgrader"]["grade_id"] in keep]
    for seed in range(200):
        results = run_tests_in_process(light, seed)
        assert results == {"test_dropout_forward": None}, (seed, results)
