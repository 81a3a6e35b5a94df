"""The `weight_decay` grader is fair: each plausible wrong answer loses exactly the points
of the test cells it breaks, with feedback that names the mistake; the solution keeps
them all."""

import pytest

from fairness import check_mutant, check_passes_over_seeds, mutant, result_of

SGD, INIT = "test_sgd_l2_step", "test_init_adam_state"
ADAM, ADAMW, GROUPS = "test_adam_step", "test_adamw_step", "test_decay_param_groups"
MOMENTUM, DECAYS = "test_sgd_momentum_trajectory", "test_adam_decay_by_gradient_scale"

ADAM_DEF = "def adam_step(w, grad, state, lr, lam=0.0, betas=(0.9, 0.999), eps=1e-8):\n"
ADAMW_DEF = "def adamw_step(w, grad, state, lr, wd=0.0, betas=(0.9, 0.999), eps=1e-8):\n"
MOMENTS = ("    b1, b2 = betas\n"
           "    state['t'] += 1\n"
           "    state['m'] = b1 * state['m'] + (1 - b1) * g\n"
           "    state['v'] = b2 * state['v'] + (1 - b2) * g * g\n")
CORRECTED = ("    m_hat = state['m'] / (1 - b1 ** state['t'])\n"
             "    v_hat = state['v'] / (1 - b2 ** state['t'])\n")
STEP = "    return w - lr * m_hat / (np.sqrt(v_hat) + eps)"
GROUPS_DEF = "def decay_param_groups(model, wd):\n"

MUTANTS = [
    mutant("SGD without the penalty", "sgd_l2_step",
           "def sgd_l2_step(w, grad, lr, lam):\n    return w - lr * grad", {SGD}, "penalty is missing"),
    mutant("SGD penalty gradient 2 lam w", "sgd_l2_step",
           "def sgd_l2_step(w, grad, lr, lam):\n    return w - lr * (grad + 2 * lam * w)", {SGD}, "not 2 * lam * w"),
    mutant("decoupled decay not scaled by lr", "sgd_momentum_trajectory",
           "def sgd_momentum_trajectory(w0, grads, lr, momentum, decay, decoupled=False):\n"
           "    w, b, out = np.array(w0, dtype=float), 0.0, []\n"
           "    for g in grads:\n"
           "        if decoupled:\n"
           "            w = (1 - decay) * w\n"
           "            b = momentum * b + g\n"
           "        else:\n"
           "            b = momentum * b + (g + decay * w)\n"
           "        w = w - lr * b\n"
           "        out.append(w.copy())\n"
           "    return np.array(out)", {MOMENTUM}, "decoupled trajectory is wrong"),
    mutant("Adam state starts at t = 1", "init_adam_state",
           "def init_adam_state(w):\n    return {'t': 1, 'm': np.zeros_like(w), 'v': np.zeros_like(w)}",
           {INIT}, "starts at 0"),
    mutant("Adam without bias correction", "adam_step",
           ADAM_DEF + "    g = grad + lam * w\n" + MOMENTS + "    m_hat, v_hat = state['m'], state['v']\n" + STEP,
           {ADAM}, "bias correction"),
    mutant("Adam with eps inside the square root", "adam_step",
           ADAM_DEF + "    g = grad + lam * w\n" + MOMENTS + CORRECTED +
           "    return w - lr * m_hat / np.sqrt(v_hat + eps)", {ADAM}, "eps"),
    mutant("Adam without incrementing t", "adam_step",
           ADAM_DEF + "    g = grad + lam * w\n" + MOMENTS.replace("    state['t'] += 1\n", "") +
           "    t = state['t'] + 1\n"
           "    m_hat = state['m'] / (1 - b1 ** t)\n    v_hat = state['v'] / (1 - b2 ** t)\n" + STEP,
           {ADAM}, "increment t"),
    mutant("Adam steps with the previous m", "adam_step",
           ADAM_DEF + "    g = grad + lam * w\n    b1, b2 = betas\n    state['t'] += 1\n"
           "    m_hat = state['m'] / (1 - b1 ** state['t'])\n"
           "    state['v'] = b2 * state['v'] + (1 - b2) * g * g\n"
           "    v_hat = state['v'] / (1 - b2 ** state['t'])\n"
           "    state['m'] = b1 * state['m'] + (1 - b1) * g\n" + STEP, {ADAM}, "first Adam step moved"),
    mutant("Adam ignores the penalty", "adam_step",
           ADAM_DEF + "    g = grad\n" + MOMENTS + CORRECTED + STEP, {ADAM}, "grad + lam * w"),
    mutant("AdamW that is Adam + L2", "adamw_step",
           ADAMW_DEF + "    g = grad + wd * w\n" + MOMENTS + CORRECTED + STEP, {ADAMW}, "Adam with an L2 penalty"),
    mutant("AdamW decay not scaled by lr", "adamw_step",
           ADAMW_DEF + "    g = grad\n    w = (1 - wd) * w\n" + MOMENTS + CORRECTED + STEP,
           {ADAMW}, "not scaled by the learning rate"),
    mutant("AdamW decays the updated weights", "adamw_step",
           ADAMW_DEF + "    g = grad\n" + MOMENTS + CORRECTED +
           "    return (1 - lr * wd) * (w - lr * m_hat / (np.sqrt(v_hat) + eps))", {ADAMW}, "updated weights"),
    mutant("L2 momentum with the decay outside the buffer", "sgd_momentum_trajectory",
           "def sgd_momentum_trajectory(w0, grads, lr, momentum, decay, decoupled=False):\n"
           "    w, b, out = np.array(w0, dtype=float), 0.0, []\n"
           "    for g in grads:\n"
           "        w = (1 - lr * decay) * w\n"
           "        b = momentum * b + g\n"
           "        w = w - lr * b\n"
           "        out.append(w.copy())\n"
           "    return np.array(out)", {MOMENTUM}, "departs from torch.optim.SGD"),
    mutant("noise drawn for each optimizer", "adam_decay_by_gradient_scale",
           "def adam_decay_by_gradient_scale(scales, steps, lr, decay, rng):\n"
           "    scales, result = np.asarray(scales, dtype=float), {}\n"
           "    for name, step, key in [('adam_l2', adam_step, 'lam'), ('adamw', adamw_step, 'wd')]:\n"
           "        w = np.ones(len(scales))\n"
           "        state = init_adam_state(w)\n"
           "        for g in rng.standard_normal((steps, len(scales))) * scales:\n"
           "            w = step(w, g, state, lr, **{key: decay})\n"
           "        result[name] = np.abs(w)\n"
           "    return result", {DECAYS}, "same noise"),
    mutant("biases in the decayed group", "decay_param_groups",
           GROUPS_DEF + "    return [{'params': list(model.parameters()), 'weight_decay': wd},\n"
           "            {'params': [], 'weight_decay': 0.0}]", {GROUPS}, "bias is in the decayed group"),
    mutant("a parameter listed twice", "decay_param_groups",
           GROUPS_DEF + "    return [{'params': [p for p in model.parameters() if p.ndim > 1], 'weight_decay': wd},\n"
           "            {'params': list(model.parameters()), 'weight_decay': 0.0}]", {GROUPS}, "listed twice"),
]


@pytest.mark.parametrize("m", MUTANTS, ids=str)
def test_wrong_answer_loses_exactly_its_points(m):
    check_mutant(result_of("fairness", "weight_decay", MUTANTS, m), m)


@pytest.mark.tier2
def test_solution_passes_every_test_over_20_seeds():
    check_passes_over_seeds("weight_decay")
