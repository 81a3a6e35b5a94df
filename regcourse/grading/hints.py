"""The likely cause behind each symptom a test cell reports: the second tier of feedback.

A failing cell's message is the symptom ("l2_penalty([3, 4], lam=2) returned 50: the
factor 1/2 is missing"). Grading again with ``--hint`` adds the likely cause, written
for the mistakes the graders' own catalogues know (``tests/test_fairness_*.py`` and
``tests/test_grading_honest.py``; a test checks that every catalogued mistake finds its
hint). A hint names a cause and where the chapter explains it; it never shows a test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Hint:
    cells: str        # regular expression matched against the graded cell's grade_id
    symptom: str      # regular expression searched in the cell's message
    cause: str


HINTS: dict[str, list[Hint]] = {
    "warmup": [
        Hint("test_regularized_cost$", r"data term is missing its factor 1/2|both terms are missing",
             "The data term is 1/2 ||Xw - y||^2: the 1/2 makes its gradient X^T (Xw - y), without a factor 2 "
             "(introduction, 'The regularized cost')."),
        Hint("test_regularized_cost$", r"penalty is missing its factor 1/2",
             "The L2 penalty is lam/2 ||w||^2, so that its gradient is lam w; without the 1/2 every weight "
             "is pulled twice as hard."),
        Hint("test_regularized_cost$", r"\bmean\b",
             "The course's closed forms sum the squared residuals over the examples; np.mean divides by n, "
             "which is the same minimizer only for another lam (introduction, 'How large is lambda?')."),
        Hint("test_regularized_cost$", r"L1 penalty",
             "sum |w_i| is the L1 norm; the L2 penalty squares each weight: lam/2 * (w @ w)."),
        Hint("rejects_negative_lam", r"raise ValueError|valid input",
             "Check lam before computing anything and raise ValueError only when lam < 0: a negative "
             "penalty would reward large weights."),
        Hint(".", r"NotImplementedError", "The function still raises NotImplementedError: replace that line with "
                                          "your code."),
    ],
    "l2": [
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
    ],
    "l1": [
        Hint(".", r"uses your|fail their own tests",
             "This measurement calls functions you wrote earlier, and one of them is not right yet: its own "
             "test cell names the mistake. Fix that function; this cell then measures what the chapter claims."),
        Hint("test_l1_penalty$", r"\|\|w\|\|\^2|L2 penalty|Euclidean",
             "The L1 penalty sums absolute values: lam * np.abs(p).sum(), no square, no square root."),
        Hint("test_l1_penalty$", r"no factor 1/2|factor 1/2",
             "Unlike L2, the course's L1 penalty has no 1/2: lam * sum |w_i|."),
        Hint("test_l1_penalty$", r"tuple",
             "A tuple is a sequence of arrays like a list: test isinstance(params, np.ndarray) for the single "
             "array case, and iterate over anything else."),
        Hint("rejects_negative_lam|rejects_negative_t", r"raise ValueError|valid input",
             "Raise ValueError only for a negative lam or t, after checking it and before computing."),
        Hint("test_l1_subgradient$", r"nan",
             "w / |w| divides by zero at w = 0; np.sign(w) gives the subgradient with the value 0 there."),
        Hint("test_soft_threshold$", r"clamp|stop at 0",
             "Shrink the magnitude and stop at zero: np.maximum(np.abs(w) - t, 0) * np.sign(w). Without the "
             "maximum, small weights cross zero instead of landing on it (L1 chapter, soft thresholding)."),
        Hint("test_soft_threshold$|test_lasso_ista", r"hard thresholding",
             "Hard thresholding keeps the survivors unchanged; the proximal operator of the L1 penalty also "
             "shrinks them by t."),
        Hint("test_soft_threshold|test_lasso_ista", r"your function soft_threshold|for a valid input",
             "soft_threshold fails on a valid input, and lasso_ista calls it: fix soft_threshold first "
             "(the line shown is where it fails)."),
        Hint("test_lasso_ista", r"subgradient steps|exact zeros",
             "Subgradient steps make a small weight oscillate around zero; the proximal step (the soft "
             "threshold after the gradient step) lands it exactly on zero (L1 chapter, 'Why the optimizer "
             "decides')."),
        Hint("test_lasso_ista", r"step|does not converge|objective increased",
             "The step must be 1/L with L the largest eigenvalue of X^T X (np.linalg.eigvalsh(X.T @ X)[-1]): "
             "the square of X's largest singular value, not 1/n."),
        Hint("test_lasso_ista$", r"penalty was ignored|least squares",
             "The answer ignores the penalty: after the gradient step the soft threshold must move every "
             "weight towards zero by step * lam and stop at zero (hard thresholding keeps the survivors "
             "unchanged, and a threshold of 0 keeps everything)."),
        Hint("test_lasso_ista", r"SyntaxError|is not defined",
             "The cell that defines the function did not run (see the note above the table): fix the syntax "
             "error it names."),
        Hint("test_sparsity$", r"non-zero",
             "sparsity counts the entries that are zero (|w| <= atol), not the others."),
        Hint("test_sparsity$", r"count|SyntaxError|not defined",
             "Return the fraction of entries, np.mean(np.abs(w) <= atol), as a float between 0 and 1; if the "
             "cell did not run, fix the error the note above names."),
        Hint("test_lasso_versus_ridge$", r".",
             "Count exact zeros with == 0.0 on the lasso's weights and on ridge's weights from np.linalg.solve "
             "separately (ridge has exact zeros only for a feature that is 0 in every example, and a least-squares "
             "solver leaves tiny values there), and compare the lasso's non-zero pattern with w_true's (w != 0)."),
    ],
    "weight_decay": [
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
    ],
    "dropout": [
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
    ],
}


def hint_for(assignment: str, grade_id: str, message: str) -> str:
    """The likely cause of the failure ``message`` of cell ``grade_id``, or ''."""
    for hint in HINTS.get(assignment, []):
        if re.search(hint.cells, grade_id) and re.search(hint.symptom, message):
            return hint.cause
    return ""
