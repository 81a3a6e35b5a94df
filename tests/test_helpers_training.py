"""regcourse.training: the shared training loop is deterministic and does what it says."""

import numpy as np
import pytest
import torch
from torch import nn

from regcourse.data import digits_split
from regcourse.training import accuracy, flat_weights, mlp, train, weights


@pytest.fixture(scope="module")
def split():
    return digits_split(n_train=200, n_test=200, seed=0)


def test_mlp_layers_and_dropout():
    net = mlp([64, 32, 16, 10], dropout=0.5, input_dropout=0.2)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Dropout", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    assert net[0].p == 0.2 and net[3].p == 0.5
    with pytest.raises(ValueError):
        mlp([10])


def test_mlp_initialization_depends_only_on_seed():
    a, b, c = mlp([8, 4, 2], seed=1), mlp([8, 4, 2], seed=1), mlp([8, 4, 2], seed=2)
    np.testing.assert_array_equal(flat_weights(a), flat_weights(b))
    assert not np.array_equal(flat_weights(a), flat_weights(c))


def test_weights_are_matrices_only():
    net = mlp([8, 4, 2])
    assert [tuple(w.shape) for w in weights(net)] == [(4, 8), (2, 4)]
    assert flat_weights(net).shape == (8 * 4 + 4 * 2,)


def test_train_history_and_determinism(split):
    h1 = train(mlp([64, 32, 10], seed=0), split, epochs=5, lr=0.1, seed=0)
    h2 = train(mlp([64, 32, 10], seed=0), split, epochs=5, lr=0.1, seed=0)
    assert len(h1.loss) == len(h1.train_acc) == len(h1.test_acc) == 5
    assert h1.loss == h2.loss and h1.test_acc == h2.test_acc
    assert h1.loss[-1] < h1.loss[0]
    assert h1.train_acc[-1] > 0.5
    assert h1.gap == pytest.approx(h1.train_acc[-1] - h1.test_acc[-1])


def test_weight_decay_shrinks_weights(split):
    plain, decayed = mlp([64, 32, 10], seed=0), mlp([64, 32, 10], seed=0)
    train(plain, split, epochs=10, lr=0.1, seed=0)
    train(decayed, split, epochs=10, lr=0.1, weight_decay=0.2, seed=0)
    assert np.linalg.norm(flat_weights(decayed)) < 0.8 * np.linalg.norm(flat_weights(plain))


def test_penalty_is_added_to_the_loss(split):
    calls = []

    def penalty(model):
        calls.append(1)
        return 0.5 * sum((w ** 2).sum() for w in weights(model))

    h0 = train(mlp([64, 16, 10], seed=0), split, epochs=1, seed=0)
    h1 = train(mlp([64, 16, 10], seed=0), split, epochs=1, seed=0, penalty=penalty)
    assert len(calls) == int(np.ceil(200 / 64))
    assert h1.loss[0] > h0.loss[0]


def test_accuracy_restores_training_mode(split):
    net = mlp([64, 16, 10], dropout=0.5)
    net.train()
    acc = accuracy(net, split.X_test, split.y_test)
    assert net.training and 0.0 <= acc <= 1.0
    net.eval()
    accuracy(net, split.X_test, split.y_test)
    assert not net.training


def test_custom_optimizer_is_used(split):
    net = mlp([64, 16, 10], seed=0)
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    before = flat_weights(net).copy()
    train(net, split, epochs=1, optimizer=opt)
    np.testing.assert_array_equal(before, flat_weights(net))


def test_train_rejects_bad_arguments(split):
    with pytest.raises(ValueError):
        train(nn.Linear(64, 10), split, epochs=0)
    with pytest.raises(ValueError, match="label_smoothing"):
        train(nn.Linear(64, 10), split, epochs=1, label_smoothing=1.5)


def test_augment_sees_every_batch_and_its_output_is_trained_on(split):
    seen = []

    def record_then_blank(X, generator):
        seen.append((len(X), torch.rand(1, generator=generator).item()))
        return torch.zeros_like(X)      # nothing left to learn from but the biases

    net = mlp([64, 16, 10], seed=0)
    train(net, split, epochs=2, batch_size=50, seed=3, augment=record_then_blank)
    assert [n for n, _ in seen] == [50] * 8
    assert len({r for _, r in seen}) == 8          # one generator, drawn on, not reseeded
    # inputs were always zero: the first layer's weights never received a gradient
    assert torch.equal(mlp([64, 16, 10], seed=0)[0].weight, net[0].weight)
    again = []
    train(mlp([64, 16, 10], seed=0), split, epochs=2, batch_size=50, seed=3,
          augment=lambda X, g: again.append((len(X), torch.rand(1, generator=g).item())) or X)
    assert again == seen                            # reproducible from the seed


def test_label_smoothing_keeps_the_logits_smaller(split):
    def logit_range(smoothing):
        net = mlp([64, 32, 10], seed=0)
        train(net, split, epochs=30, batch_size=50, seed=0, label_smoothing=smoothing)
        with torch.no_grad():
            logits = net(torch.as_tensor(split.X_train))
        return (logits.max(1).values - logits.min(1).values).mean().item()

    # smoothed targets have a finite optimal logit gap, log(1 + 10 (1 - e) / e) = 4.5 for e = 0.1
    assert logit_range(0.1) < 0.8 * logit_range(0.0)


def test_after_step_runs_after_every_optimizer_step(split):
    steps = []

    def zero_first_weight(model):
        steps.append(1)
        with torch.no_grad():
            model[0].weight[0, 0] = 0.0

    net = mlp([64, 16, 10], seed=0)
    train(net, split, epochs=2, batch_size=50, seed=0, after_step=zero_first_weight)
    assert len(steps) == 2 * 4 and net[0].weight[0, 0].item() == 0.0


def test_validation_is_recorded_and_after_epoch_sees_it():
    split = digits_split(n_train=120, n_val=60, n_test=60, seed=0)
    seen = []
    history = train(mlp([64, 16, 10], seed=0), split, epochs=3, lr=0.1,
                    after_epoch=lambda model, h: seen.append(len(h.val_loss)))
    assert seen == [1, 2, 3] and len(history.val_acc) == 3
    assert history.val_loss[-1] < history.val_loss[0]   # it learns something in three epochs
    assert 0.0 <= min(history.val_acc) <= max(history.val_acc) <= 1.0
    plain = train(mlp([64, 16, 10], seed=0), digits_split(n_train=120, seed=0), epochs=1)
    assert plain.val_loss == [] and plain.val_acc == []
