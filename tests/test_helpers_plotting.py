"""regcourse.plotting: every figure has a title, axis labels and, with several lines, a legend."""

import matplotlib.pyplot as plt
import numpy as np

from regcourse import plotting
from regcourse.training import History


def _labels(ax):
    return ax.get_title(), ax.get_xlabel(), ax.get_ylabel()


def test_curves_labels_and_legend():
    ax = plotting.curves([1, 2, 3], {"a": [1, 2, 3], "b": [3, 2, 1]}, title="T", xlabel="x",
                         ylabel="y", logx=True, logy=True)
    assert _labels(ax) == ("T", "x", "y")
    assert ax.get_legend() is not None and ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.get_lines()) == 2
    plt.close("all")


def test_curves_single_line_has_no_legend():
    ax = plotting.curves([1, 2], {"only": [1, 2]}, title="T", xlabel="x", ylabel="y")
    assert ax.get_legend() is None
    plt.close("all")


def test_history_plots_train_and_test():
    h = History(loss=[1, 0.5], train_acc=[0.5, 1.0], test_acc=[0.4, 0.8])
    ax = plotting.history({"run": h}, title="H")
    assert _labels(ax) == ("H", "epoch", "accuracy") and len(ax.get_lines()) == 2
    plt.close("all")


def test_weight_histograms():
    ax = plotting.weight_histograms({"a": np.arange(10.0), "b": np.ones((2, 3))}, title="W")
    assert _labels(ax) == ("W", "weight value", "count (log scale)")
    assert ax.get_legend() is not None
    plt.close("all")
