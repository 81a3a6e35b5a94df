"""A small, explicit torch training loop shared by the lessons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .data import Split


@dataclass
class History:
    """Per-epoch record of a training run."""

    loss: list[float] = field(default_factory=list)       # mean training objective (data + penalty)
    train_acc: list[float] = field(default_factory=list)  # accuracy on the whole training set
    test_acc: list[float] = field(default_factory=list)   # accuracy on the test set
    val_loss: list[float] = field(default_factory=list)   # cross-entropy on the validation set, if any
    val_acc: list[float] = field(default_factory=list)    # accuracy on the validation set, if any

    @property
    def gap(self) -> float:
        """Final train accuracy minus final test accuracy: the generalization gap."""
        return self.train_acc[-1] - self.test_acc[-1]


def mlp(sizes: Sequence[int], dropout: float = 0.0, input_dropout: float = 0.0,
        seed: int = 0) -> nn.Sequential:
    """A ReLU network with layer widths ``sizes`` (input, hidden..., output).

    ``dropout`` is the probability of dropping each hidden unit, ``input_dropout``
    that of dropping each input (PyTorch's convention: p is the *drop* probability).
    The initial weights depend only on ``seed``.
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {list(sizes)}")
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    if input_dropout > 0:
        layers.append(nn.Dropout(input_dropout))
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def weights(model: nn.Module) -> list[torch.Tensor]:
    """The parameters the course regularizes: weight matrices (ndim > 1), not biases."""
    return [p for p in model.parameters() if p.ndim > 1]


def flat_weights(model: nn.Module) -> np.ndarray:
    """All weight-matrix entries of ``model`` as one numpy vector (for norms and histograms)."""
    return torch.cat([w.detach().flatten() for w in weights(model)]).numpy()


@torch.no_grad()
def accuracy(model: nn.Module, X: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """Fraction of correct arg-max predictions, computed in evaluation mode.

    The model's train/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    try:
        logits = model(torch.as_tensor(X))
        return (logits.argmax(dim=1) == torch.as_tensor(y)).float().mean().item()
    finally:
        model.train(was_training)


def train(model: nn.Module, split: Split, *, epochs: int = 50, lr: float = 0.1,
          batch_size: int = 64, weight_decay: float = 0.0,
          optimizer: torch.optim.Optimizer | None = None,
          penalty: Callable[[nn.Module], torch.Tensor] | None = None,
          after_step: Callable[[nn.Module], None] | None = None,
          after_epoch: Callable[[nn.Module, History], None] | None = None,
          augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
          label_smoothing: float = 0.0, seed: int = 0) -> History:
    """Train ``model`` on ``split`` with mini-batch cross-entropy and return its history.

    ``optimizer`` defaults to plain SGD with learning rate ``lr`` and PyTorch's
    ``weight_decay`` on *all* parameters; pass your own to choose parameter groups.
    ``penalty(model)``, if given, is added to every mini-batch loss (for example an
    explicit L2 or L1 term). ``after_step(model)``, if given, runs after every optimizer
    step (for example a proximal step that soft-thresholds the weights). When ``split``
    has a validation set, the validation loss and accuracy are recorded every epoch;
    ``after_epoch(model, history)``, if given, runs after each epoch's records (for
    example to keep the weights of the best epoch: early stopping). ``augment(X_batch,
    generator)``, if given, replaces every training batch's inputs by new ones (for
    example randomly shifted images), drawing its randomness from ``generator``.
    ``label_smoothing`` is PyTorch's: the training targets put that much probability
    spread evenly over all classes. The batch order and the augmentations depend only
    on ``seed``.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing is a probability in [0, 1], got {label_smoothing}")
    X, y = torch.as_tensor(split.X_train), torch.as_tensor(split.y_train)
    if optimizer is None:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    augmentations = torch.Generator().manual_seed(seed + 1)   # apart from the batch order
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    history = History()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(y), generator=generator)
        total, count = 0.0, 0
        for start in range(0, len(y), batch_size):
            batch = order[start:start + batch_size]
            inputs = X[batch] if augment is None else augment(X[batch], augmentations)
            loss = loss_fn(model(inputs), y[batch])
            if penalty is not None:
                loss = loss + penalty(model)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if after_step is not None:
                after_step(model)
            total += loss.item() * len(batch)
            count += len(batch)
        history.loss.append(total / count)
        history.train_acc.append(accuracy(model, split.X_train, split.y_train))
        history.test_acc.append(accuracy(model, split.X_test, split.y_test))
        if split.X_val is not None:
            history.val_loss.append(mean_loss(model, split.X_val, split.y_val))
            history.val_acc.append(accuracy(model, split.X_val, split.y_val))
        if after_epoch is not None:
            after_epoch(model, history)
    return history


@torch.no_grad()
def mean_loss(model: nn.Module, X: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """Mean cross-entropy of ``model`` on ``X, y``, in evaluation mode (mode restored)."""
    was_training = model.training
    model.eval()
    try:
        return nn.functional.cross_entropy(model(torch.as_tensor(X)), torch.as_tensor(y)).item()
    finally:
        model.train(was_training)
