"""Trusted checks of ``augmentation``: noisy copies and the penalty they imply, shifted
images, smoothed labels, the optimal logit gap, calibration error."""

import numpy as np

from ..hints import Hint
from ..trusted import Wrong, array, close, raised

COPIES = [(0.1, 40), (2.0, 60)]          # (sigma, K) of the statistical calls
N, D = 25, 4                             # the data set that is copied
LOSS_SIGMAS = [0.0, 0.3, 2.0]
DISTANCE_SIGMAS = [0.2, 1.0]
SHIFTS = [(1, 0), (-1, 0), (0, 2), (0, -3), (2, -1), (-3, 4), (6, 0), (0, -8), (7, 9), (-5, -7)]
EPSILONS = [0.0, 0.1, 0.5, 1.0]
GAPS = [(2, 0.01), (5, 0.3), (100, 1.0), (10, 0.1)]
BINS = [1, 5, 15]


def make_inputs(rng):
    inputs = {"seeds": rng.integers(0, 2**31, size=8),
              "X": 3.0 * rng.standard_normal((N, D)), "y": rng.standard_normal(N),
              "Xl": rng.standard_normal((15, 4)), "yl": rng.standard_normal(15), "wl": rng.standard_normal(4),
              "Xw": rng.standard_normal((3, 8)), "yw": rng.standard_normal(3), "ww": rng.standard_normal(8),
              "Xd": rng.standard_normal((30, 4)) * np.array([2.0, 1.0, 0.5, 0.2]), "yd": rng.standard_normal(30),
              "G": rng.standard_normal((30, 4)),
              "images": rng.random((5, 8, 6)),
              "labels": rng.integers(0, 10, size=50),
              "logits": 3.0 * rng.standard_normal((500, 5)), "classes": rng.integers(0, 5, size=500)}
    return inputs


BODY = """
seeds = [int(s) for s in load("seeds")]
X, y = load("X"), load("y")
for j, (sigma, K) in enumerate([(0.1, 40), (2.0, 60)]):
    result = run(f"copies_{j}", "noisy_copies", X, y, sigma, K, np.random.default_rng(seeds[j]))
    if isinstance(result, (tuple, list)) and len(result) == 2:
        save(f"copies_{j}_X", result[0])
        save(f"copies_{j}_y", result[1])
result = run("copies_clean", "noisy_copies", X, y, 0.0, 3, np.random.default_rng(seeds[2]))
if isinstance(result, (tuple, list)) and len(result) == 2:
    save("copies_clean_X", result[0])
    save("copies_clean_y", result[1])
for j, s in enumerate([seeds[3], seeds[3], seeds[4]]):
    result = run(f"copies_seeded_{j}", "noisy_copies", X, y, 1.0, 2, np.random.default_rng(s))
    if isinstance(result, (tuple, list)) and len(result) == 2:
        save(f"copies_seeded_{j}_X", result[0])

for j, sigma in enumerate([0.0, 0.3, 2.0]):
    call(f"loss_{j}", "expected_noisy_loss", load("Xl"), load("yl"), load("wl"), sigma)
call("loss_wide", "expected_noisy_loss", load("Xw"), load("yw"), load("ww"), 0.5)

with upstream("test_noise_ridge_distances"):   # the course's noisy_copies: only the measurement counts
    Xd, yd = load("Xd"), load("yd")
    call("distances", "noise_ridge_distances", Xd, yd, 0.5, [1, 10, 100], np.random.default_rng(seeds[5]))
    # the measurement must follow noisy_copies: changed into copies without noise (plain
    # least squares), then into noise +H, -H whose square averages n sigma^2 I (ridge itself)
    course_noisy_copies = ns["noisy_copies"]
    H = np.sqrt(len(Xd)) * np.linalg.qr(load("G"))[0]
    for j, sigma in enumerate([0.2, 1.0]):
        ns["noisy_copies"] = lambda X, y, sigma, K, rng: (np.tile(X, (K, 1)), np.tile(y, K))
        call(f"distances_clean_{j}", "noise_ridge_distances", Xd, yd, sigma, [2, 6], np.random.default_rng(seeds[6]))
        ns["noisy_copies"] = lambda X, y, sigma, K, rng: (
            np.concatenate([X + (-1) ** k * sigma * H for k in range(K)]), np.tile(y, K))
        call(f"distances_exact_{j}", "noise_ridge_distances", Xd, yd, sigma, [2, 6], np.random.default_rng(seeds[6]))
    ns["noisy_copies"] = course_noisy_copies

images = load("images")
for j, (dx, dy) in enumerate([(1, 0), (-1, 0), (0, 2), (0, -3), (2, -1), (-3, 4), (6, 0), (0, -8), (7, 9), (-5, -7)]):
    call(f"shift_{j}", "shift_images", images, dx, dy)
save("shift_input_after", images)

labels = load("labels")
for j, eps in enumerate([0.0, 0.1, 0.5, 1.0]):
    call(f"smooth_{j}", "smooth_labels", labels, 10, eps)
call("smooth_valid", "smooth_labels", np.array([0, 1]), 2, 0.3)
for j, eps in enumerate([-0.1, 1.5]):
    call(f"smooth_invalid_{j}", "smooth_labels", np.array([0, 1]), 2, eps)

for j, (K, eps) in enumerate([(2, 0.01), (5, 0.3), (100, 1.0), (10, 0.1)]):
    call(f"gap_{j}", "optimal_logit_gap", K, eps)
gap = run("gap_zero", "optimal_logit_gap", 10, 0.0)
if gap is not None:
    try:
        save("gap_zero_is_inf", bool(np.isposinf(float(gap))))
    except (TypeError, ValueError):
        save("gap_zero_is_inf", False)

logits = load("logits")
probs = np.exp(logits - logits.max(axis=1, keepdims=True))
probs /= probs.sum(axis=1, keepdims=True)
classes = load("classes")
for j, bins in enumerate([1, 5, 15]):
    call(f"calibration_{j}", "calibration_error", probs, classes, bins)
call("calibration_default", "calibration_error", probs, classes)
call("calibration_one", "calibration_error", np.array([[1.0, 0.0], [0.75, 0.25], [0.4, 0.6]]), np.array([1, 0, 1]))
"""


# test cell -> the functions it builds on: graded with the course's versions of them, so that
# a mistake there costs only its own cells (see regcourse.grading.upstream)
UPSTREAM = {"test_noise_ridge_distances": ("noisy_copies",)}


def check_copies(student, reference, inputs):
    X, y = inputs["X"], inputs["y"]
    for j, (sigma, K) in enumerate(COPIES):
        call = f"noisy_copies(X, y, sigma={sigma}, K={K}, rng) with X of shape {X.shape}"
        noisy = array(student, f"copies_{j}_X", (K * N, D), f"{call}: X_noisy")
        targets = array(student, f"copies_{j}_y", (K * N,), f"{call}: y_noisy")
        if not np.allclose(targets, np.tile(y, K)):
            raise Wrong(f"{call}: y_noisy is not y repeated K times, copy after copy, without noise")
        noise = (noisy - np.tile(X, (K, 1))) / sigma
        copies = noise.reshape(K, N, D)
        if abs(np.corrcoef(copies[0].ravel(), copies[1].ravel())[0, 1]) > 0.9:
            raise Wrong(f"{call}: every copy has the same noise; draw fresh noise for each copy")
        # at least 4000 standard normal draws: mean within 0.1 and sd within 0.1 of the truth,
        # each beyond 6 standard deviations of its estimate
        if abs(noise.std() - 1.0) > 0.1 or abs(noise.mean()) > 0.1:
            raise Wrong(f"{call}: the noise has mean {sigma * noise.mean():.3g} and standard deviation "
                        f"{sigma * noise.std():.3g}, not 0 and sigma = {sigma}")
    clean = array(student, "copies_clean_X", (3 * N, D), "noisy_copies(X, y, sigma=0, K=3, rng): X_noisy")
    if not np.allclose(clean, np.tile(X, (3, 1))):
        raise Wrong("noisy_copies(X, y, sigma=0, K=3, rng) is not X three times, copy after copy")
    if not np.allclose(array(student, "copies_clean_y", (3 * N,)), np.tile(y, 3)):
        raise Wrong("noisy_copies(X, y, sigma=0, K=3, rng): y_noisy is not y repeated three times, in order")
    first, again, other = (array(student, f"copies_seeded_{j}_X", (2 * N, D), "noisy_copies(X, y, 1.0, 2, rng)")
                           for j in range(3))
    if not np.allclose(first, again) or np.allclose(first, other):
        raise Wrong("the noise does not come from the generator rng that is passed in")


def check_loss(student, reference, inputs):
    for j, sigma in enumerate(LOSS_SIGMAS):
        close(student, reference, f"loss_{j}", rtol=1e-9, atol=1e-12,
              what=f"expected_noisy_loss(X, y, w, {sigma}) with X of shape (15, 4)")
    close(student, reference, "loss_wide", rtol=1e-9, atol=1e-12,
          what="expected_noisy_loss(X, y, w, 0.5) with X of shape (3, 8)")


def check_distances(student, reference, inputs):
    try:
        close(student, reference, "distances", rtol=1e-6, atol=1e-9,
              what="noise_ridge_distances(X, y, 0.5, [1, 10, 100], rng)")
    except Wrong as wrong:
        raise Wrong(f"{wrong}: it should be the distance of least squares on noisy_copies(X, y, 0.5, K, rng), "
                    "called once per K in the order of copies, to ridge with lam = n sigma^2") from None
    for j, sigma in enumerate(DISTANCE_SIGMAS):
        try:
            close(student, reference, f"distances_clean_{j}", rtol=1e-6, atol=1e-9,
                  what=f"noise_ridge_distances(X, y, {sigma}, [2, 6], rng) on copies without noise")
        except Wrong:
            raise Wrong(f"noise_ridge_distances did not follow noisy_copies: with noisy_copies changed for a moment "
                        f"into copies without noise (sigma = {sigma}), the distances should be those of plain least "
                        "squares to ridge with lam = n sigma^2. Fit np.linalg.lstsq on the copies your noisy_copies "
                        "returns, and compare with ridge for lam = n sigma^2") from None
        exact = array(student, f"distances_exact_{j}", (2,), f"noise_ridge_distances(X, y, {sigma}, [2, 6], rng)")
        if not np.allclose(exact, 0.0, atol=1e-8):
            raise Wrong(f"noise_ridge_distances did not follow noisy_copies: with noisy_copies changed for a moment into "
                        f"copies whose noise makes least squares exactly ridge with lam = n sigma^2 (sigma = {sigma}), "
                        f"the distances were {np.round(exact, 6)}, not 0. Fit on the copies noisy_copies returns, and "
                        "take ridge with lam = n sigma^2 (n the number of examples)")


def check_shift(student, reference, inputs):
    images = inputs["images"]
    for j, (dx, dy) in enumerate(SHIFTS):
        close(student, reference, f"shift_{j}", rtol=0, atol=1e-12,
              what=f"shift_images(images of shape {images.shape}, dx={dx}, dy={dy})")
    if not np.array_equal(array(student, "shift_input_after", images.shape), images):
        raise Wrong("shift_images changed the images it was given: work on a copy")


def check_smooth(student, reference, inputs):
    for j, eps in enumerate(EPSILONS):
        close(student, reference, f"smooth_{j}", rtol=1e-9, atol=1e-12,
              what=f"smooth_labels(y, 10, {eps}) with 50 labels")


def check_smooth_bad_eps(student, reference, inputs):
    array(student, "smooth_valid", (2, 2), "smooth_labels(y, 2, 0.3), a valid input,")
    for j, eps in enumerate([-0.1, 1.5]):
        raised(student, f"smooth_invalid_{j}", "ValueError", f"smooth_labels(y, 2, {eps})")


def check_gap(student, reference, inputs):
    for j, (K, eps) in enumerate(GAPS):
        close(student, reference, f"gap_{j}", rtol=1e-9, atol=1e-12, what=f"optimal_logit_gap({K}, {eps})")
    if student["gap_zero_is_inf"] is not True:
        raise Wrong("optimal_logit_gap(10, 0.0) is not infinite: with one-hot targets the optimal gap is np.inf")


def check_calibration(student, reference, inputs):
    for j, bins in enumerate(BINS):
        close(student, reference, f"calibration_{j}", rtol=1e-9, atol=1e-12,
              what=f"calibration_error(probs, labels, {bins}) with 500 examples over 5 classes")
    close(student, reference, "calibration_default", rtol=1e-9, atol=1e-12,
          what="calibration_error(probs, labels) with its default of 10 bins")
    close(student, reference, "calibration_one", rtol=1e-9, atol=1e-12,
          what="calibration_error with a confidence of exactly 1")


# Small public calls whose results feedback shows when the cell fails: the smallest
# failing example (each list from the smallest input up).
EXAMPLES = {
    "test_noisy_copies": ["noisy_copies(np.array([[1.0]]), np.array([2.0]), 0.0, 2, np.random.default_rng(0))"],
    "test_expected_noisy_loss": ["expected_noisy_loss(np.array([[1.0]]), np.array([0.0]), np.array([1.0]), 1.0)",
                                 "expected_noisy_loss(np.array([[1.0], [1.0]]), np.array([0.0, 2.0]), np.array([2.0]), 1.0)"],
    "test_shift_images": ["shift_images(np.array([[[1.0, 2.0]]]), 1, 0)",
                          "shift_images(np.array([[[1.0], [2.0]]]), 0, 1)",
                          "shift_images(np.array([[[1.0, 2.0, 3.0]]]), -1, 0)"],
    "test_smooth_labels": ["smooth_labels(np.array([0]), 2, 0.2)", "smooth_labels(np.array([1]), 4, 0.2)"],
    "test_smooth_labels_rejects_bad_eps": ["smooth_labels(np.array([0]), 2, 0.5)",
                                           "smooth_labels(np.array([0]), 2, -0.5)"],
    "test_optimal_logit_gap": ["optimal_logit_gap(2, 0.5)", "optimal_logit_gap(10, 0.1)"],
    "test_calibration_error": ["calibration_error(np.array([[0.8, 0.2]]), np.array([0]))",
                               "calibration_error(np.array([[0.8, 0.2], [0.6, 0.4]]), np.array([0, 1]))",
                               "calibration_error(np.array([[1.0, 0.0]]), np.array([1]))"],
}


CHECKS = {
    "test_noisy_copies": check_copies,
    "test_expected_noisy_loss": check_loss,
    "test_noise_ridge_distances": check_distances,
    "test_shift_images": check_shift,
    "test_smooth_labels": check_smooth,
    "test_smooth_labels_rejects_bad_eps": check_smooth_bad_eps,
    "test_optimal_logit_gap": check_gap,
    "test_calibration_error": check_calibration,
}


# The likely cause behind each symptom of this exercise's test cells (see
# regcourse.grading.hints): the first hint that matches a failing cell is shown.
HINTS = [
    Hint(".", r"uses your|fail their own tests",
         "This measurement calls noisy_copies, which is not right yet: its own test cell names the mistake. "
         "Fix it; this cell then measures what the chapter claims."),
    Hint(".", r"NotImplementedError", "The function still raises NotImplementedError: replace that line with "
                                      "your code."),
    Hint("test_noisy_copies$", r"np\.repeat|copy after copy|in order",
         "Stack whole copies: copy k is rows k n to (k + 1) n - 1, so y_noisy is np.tile(y, K); np.repeat "
         "repeats each target in a row and pairs it with the wrong inputs."),
    Hint("test_noisy_copies$", r"sigma\^2|standard deviation",
         "rng.standard_normal draws with standard deviation 1: multiply by sigma (the standard deviation), not "
         "by sigma**2 (the variance)."),
    Hint("test_noisy_copies$", r"same noise|fresh noise",
         "Draw new noise for every copy, inside the loop over copies (or all K at once with shape (K, n, d)); "
         "one draw tiled K times is one noisy copy repeated."),
    Hint("test_noisy_copies$", r"targets|without noise",
         "Only the inputs are noisy: the chapter adds noise to X and keeps every label as it is."),
    Hint("test_noisy_copies$", r"rng",
         "Draw the noise from the generator rng that is passed in (rng.standard_normal), not from np.random."),
    Hint("test_expected_noisy_loss$", r"summed over the n examples|features|differs",
         "Each of the n rows of E w has variance sigma^2 ||w||^2, so the noise adds n sigma^2 / 2 ||w||^2 on "
         "average: lam = n sigma^2, with n the number of examples (chapter, 'Noise on the inputs is a penalty')."),
    Hint("test_expected_noisy_loss$", r"missing its 1/2|penalty is missing",
         "Both terms carry the 1/2 of the squared error: 1/2 ||Xw - y||^2 + n sigma^2 / 2 ||w||^2."),
    Hint("test_noise_ridge_distances$", r"did not follow noisy_copies",
         "The task measures your own noisy_copies: call it for each K with the rng given, fit np.linalg.lstsq "
         "on what it returns, and compare with ridge for lam = n sigma^2. The grader checks this by changing "
         "noisy_copies for a moment: distances from a formula, or from noise drawn another way, do not follow it."),
    Hint("test_noise_ridge_distances$", r"once per K",
         "Measure with the copies noisy_copies draws: for K in copies, in that order, call noisy_copies(X, y, "
         "sigma, K, rng) with the rng given, fit np.linalg.lstsq on them and compare with ridge for lam = n sigma^2; "
         "the same generator state then gives the same distances."),
    Hint("test_shift_images$", r"np\.roll|wrap|differs",
         "np.roll wraps what leaves one side around to the other; a shifted image gets background (0) instead. "
         "Start from np.zeros_like(images) and copy the part that stays in the frame with slices."),
    Hint("test_shift_images$", r"moved the image (left|down)|one row up",
         "dx moves columns (the last axis) to the right, dy moves rows (the middle axis) down: the pixel at "
         "(r, c) goes to (r + dy, c + dx)."),
    Hint("test_shift_images$", r"changed",
         "Write the shifted image into a new array (np.zeros_like): assigning into the input changes the "
         "caller's images."),
    Hint("test_smooth_labels$", r"K - 1 other classes|differs",
         "The course spreads eps over all K classes, as PyTorch's label_smoothing does: the true class gets "
         "1 - eps + eps / K and every other class eps / K."),
    Hint("test_smooth_labels$", r"sum to 1|1 - eps",
         "Scale the one-hot vector by 1 - eps before adding eps / K, so that every row stays a distribution."),
    Hint("rejects_bad_eps", r"raise ValueError|valid input",
         "Check eps first: raise ValueError when eps < 0 or eps > 1, and accept both ends, 0 and 1."),
    Hint("test_optimal_logit_gap$", r"log\(90\)|eps / K as well|differs",
         "At the optimum the probabilities equal the targets: the true class has 1 - eps + eps / K, not "
         "1 - eps; the gap is log((1 - eps + eps / K) / (eps / K)) = log(1 + K (1 - eps) / eps)."),
    Hint("test_optimal_logit_gap$", r"number of classes",
         "The other classes each get eps / K, so K enters the ratio of the probabilities."),
    Hint("test_optimal_logit_gap$", r"infinite|np\.inf|ZeroDivisionError|division by zero",
         "With eps = 0 the targets are one-hot and no finite gap is optimal: return np.inf (and do not divide "
         "by zero)."),
    Hint("test_calibration_error$", r"true class|largest probability",
         "The confidence is the probability of the predicted class, probs.max(axis=1), whether or not the "
         "prediction is right."),
    Hint("test_calibration_error$", r"same weight|share",
         "Weight each bin's gap by the fraction of all examples in it: the sum of (count / n) * |gap|, not the "
         "mean of the gaps."),
    Hint("test_calibration_error$", r"confidence of (exactly )?1|fall out",
         "Bins are (b / B, (b + 1) / B]: np.floor(confidence * B) puts a confidence of 1 in a bin B that does "
         "not exist; np.ceil(confidence * B) - 1 (clipped to 0..B-1) does not."),
    Hint("test_calibration_error$", r"differs",
         "Bin the confidences into B bins of equal width, (b / B, (b + 1) / B]; in each bin that holds "
         "examples take |mean confidence - accuracy|, weight it by the bin's share of the examples, and sum."),
]
