"""Plot helpers shared by the lessons: every figure gets a title, axis labels and a legend."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .training import History


def curves(x: Sequence[float], ys: Mapping[str, Sequence[float]], *, title: str, xlabel: str,
           ylabel: str, logx: bool = False, logy: bool = False, ax=None, marker: str = "o"):
    """One line per entry of ``ys`` against ``x``; returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for label, y in ys.items():
        ax.plot(x, y, marker=marker, markersize=3, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if len(ys) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    return ax


def history(histories: Mapping[str, History], *, title: str, ax=None):
    """Train (dashed) and test (solid) accuracy per epoch for each named run."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for i, (name, h) in enumerate(histories.items()):
        colour = f"C{i}"
        epochs = np.arange(1, len(h.train_acc) + 1)
        ax.plot(epochs, h.train_acc, "--", color=colour, label=f"{name}: train")
        ax.plot(epochs, h.test_acc, "-", color=colour, label=f"{name}: test")
    ax.set(title=title, xlabel="epoch", ylabel="accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def weight_histograms(weights: Mapping[str, np.ndarray], *, title: str, bins: int = 80, ax=None):
    """Overlaid histograms of weight values, one per named model (log-scaled counts)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    all_values = np.concatenate([np.ravel(w) for w in weights.values()])
    edges = np.linspace(all_values.min(), all_values.max(), bins + 1)
    for name, w in weights.items():
        ax.hist(np.ravel(w), bins=edges, alpha=0.5, label=name)
    ax.set(title=title, xlabel="weight value", ylabel="count (log scale)")
    ax.set_yscale("log")
    ax.legend()
    return ax
