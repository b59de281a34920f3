"""The training engine against independent computation: plain PyTorch loops and direct
full-set evaluation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from hw1.engine import Data, TrainingDiverged, data_seed, model_spec, stalled, train
from hw1.stacked import StackedEnsemble, init_model
from hw1.trainspec import TrainSpec
from tests.builders import train_spec


def regression_data(n=128, seed=0) -> Data:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=g) * 4 - 2
    xt = torch.rand(n // 2, 1, generator=g) * 4 - 2
    return Data(x, torch.sin(2 * x), xt, torch.sin(2 * xt))


def classification_data(n=96, seed=0) -> Data:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    xt = torch.randn(n // 2, 1, 28, 28, generator=g)
    yt = torch.randint(0, 10, (n // 2,), generator=g)
    return Data(x, y, xt, yt)


def spec(**kw) -> TrainSpec:
    model = {"type": "mlp", "hidden": [16, 16], "activation": "tanh"}
    return train_spec(**{"dataset": "fn", "model": model, "batch_size": 32, "epochs": 5, **kw})


def test_loss_decreases_on_learnable_problem():
    r = train(spec(epochs=30), regression_data())
    tr = r.metrics[r.metrics.split == "train"]
    first = tr[tr.epoch == 0].loss.to_numpy()
    last = tr[tr.epoch == 30].loss.to_numpy()
    assert (last < 0.2 * first).all(), (first, last)


def reference_run(s: TrainSpec, data: Data, seed: int, task: str) -> list[float]:
    """Plain PyTorch: one nn.Module, its own optimizer, same init and batch order."""
    net = init_model(model_spec(s, data.input_shape), seed)
    opt = (
        torch.optim.Adam(net.parameters(), lr=s.lr)
        if s.optimizer == "adam"
        else (torch.optim.SGD(net.parameters(), lr=s.lr, momentum=s.momentum))
    )
    crit = nn.CrossEntropyLoss() if task == "classification" else nn.MSELoss()
    g = torch.Generator().manual_seed(data_seed(seed))
    n = data.x_train.shape[0]
    losses = []
    for _ in range(s.epochs):
        perm = torch.randperm(n, generator=g)
        for k in range(n // s.batch_size):
            idx = perm[k * s.batch_size : (k + 1) * s.batch_size]
            opt.zero_grad()
            crit(net(data.x_train[idx]), data.y_train[idx]).backward()
            opt.step()
        with torch.no_grad():
            losses.append(crit(net(data.x_train), data.y_train).item())
    return losses


@pytest.mark.parametrize(
    "kind,kw",
    [
        ("regression", dict(optimizer="adam")),
        ("regression", dict(optimizer="sgd", lr=0.05, momentum=0.9)),
        (
            "classification",
            dict(dataset="mnist", model={"type": "cnn", "channels": [3, 4], "hidden": [8]}),
        ),
    ],
)
def test_stacked_seeds_equal_separate_plain_pytorch_runs(kind, kw):
    data = regression_data() if kind == "regression" else classification_data()
    s = spec(**kw)
    stacked = train(s, data).metrics
    for seed in s.seeds:
        ref = reference_run(s, data, seed, s.task)
        got = stacked[(stacked.seed == seed) & (stacked.split == "train") & (stacked.epoch > 0)]
        # float32 with batched vs plain kernels: agreement to ~1e-5 relative after 5 epochs
        np.testing.assert_allclose(got.loss.to_numpy(), ref, rtol=2e-4, atol=1e-6)


def test_stacked_equals_each_seed_alone():
    data = regression_data()
    together = train(spec(), data).metrics
    for seed in (0, 2):
        alone = train(spec(seeds=[seed]), data).metrics
        a = together[together.seed == seed].reset_index(drop=True)
        np.testing.assert_allclose(a.loss, alone.loss, rtol=1e-5, atol=1e-7)


def test_full_set_metrics_equal_direct_computation():
    data = classification_data()
    s = spec(dataset="mnist", model={"type": "mlp", "hidden": [12]}, epochs=2, seeds=[0, 1])
    r = train(s, data)
    final = r.snapshots[r.snapshots.epoch == 2]
    for seed, w in zip(final.seed, final.weights, strict=True):
        ens = StackedEnsemble.from_flat(model_spec(s, (1, 28, 28)), torch.tensor(np.stack([w])))
        net = init_model(model_spec(s, (1, 28, 28)), 0)
        from hw1.models import unflatten

        net.load_state_dict(
            {k: v[0] for k, v in unflatten(torch.tensor(np.stack([w])), ens.layout).items()}
        )
        for split, x, y in (
            ("train", data.x_train, data.y_train),
            ("test", data.x_test, data.y_test),
        ):
            with torch.no_grad():
                out = net(x)
            loss = nn.functional.cross_entropy(out, y).item()
            acc = (out.argmax(1) == y).double().mean().item()
            row = r.metrics[
                (r.metrics.seed == seed) & (r.metrics.epoch == 2) & (r.metrics.split == split)
            ]
            assert row.loss.item() == pytest.approx(loss, rel=1e-5)
            assert row.accuracy.item() == pytest.approx(acc, abs=1e-12)


def test_regression_loss_is_per_sample_mse_not_divided_by_batch():
    data = regression_data()
    r = train(spec(epochs=1, seeds=[0], snapshot_epochs=[0]), data)
    w = r.snapshots[r.snapshots.epoch == 0].weights.iloc[0]
    ens = StackedEnsemble.from_flat(model_spec(spec(), (1,)), torch.tensor(np.stack([w])))
    with torch.no_grad():
        pred = ens.forward(data.x_train, shared_input=True)[0]
    mse = ((pred - data.y_train) ** 2).mean().item()
    row = r.metrics[(r.metrics.epoch == 0) & (r.metrics.split == "train")]
    assert row.loss.item() == pytest.approx(mse, rel=1e-6)


def test_step_records_are_minibatch_loss_and_gradient_norm():
    data = regression_data()
    s = spec(epochs=1, seeds=[4], record_steps=True, optimizer="sgd", lr=1e-9)
    r = train(s, data)
    assert len(r.steps) == data.x_train.shape[0] // s.batch_size
    # with a negligible lr, step 1's gradient is the gradient at the initialisation
    net = init_model(model_spec(s, (1,)), 4)
    g = torch.Generator().manual_seed(data_seed(4))
    idx = torch.randperm(data.x_train.shape[0], generator=g)[: s.batch_size]
    loss = nn.functional.mse_loss(net(data.x_train[idx]), data.y_train[idx])
    loss.backward()
    norm = math.sqrt(sum(p.grad.pow(2).sum().item() for p in net.parameters()))
    first = r.steps.iloc[0]
    assert first.loss == pytest.approx(loss.item(), rel=1e-5)
    assert first.grad_norm == pytest.approx(norm, rel=1e-4)


def test_same_config_and_seed_give_bitwise_identical_metrics():
    data = regression_data()
    a = train(spec(), data).metrics
    b = train(spec(), data).metrics
    assert a.equals(b)


def test_divergence_stops_with_message_naming_the_run():
    data = regression_data()
    with pytest.raises(TrainingDiverged) as exc:
        train(spec(optimizer="sgd", lr=5.0, momentum=0.9, epochs=30), data)
    msg = str(exc.value)
    for word in (
        "experiment t",
        "variant v",
        "seed",
        "learning rate 5.0",
        "epoch",
        "on_divergence",
    ):
        assert word in msg


def test_divergence_recorded_when_asked():
    data = regression_data()
    r = train(spec(optimizer="sgd", lr=5.0, momentum=0.9, epochs=30, on_divergence="record"), data)
    m = r.metrics
    assert m.diverged.any()
    assert not np.isfinite(m[m.diverged].loss).all()
    assert np.isfinite(m[~m.diverged].loss).all()


def resume_after_crash(s: TrainSpec, data: Data, ck, **kw):
    """Train ``s`` with checkpoints at ``ck``, stop it right after its second checkpoint (as
    a crash would), then run it again: the second run resumes from that checkpoint."""
    import hw1.engine as eng

    calls = {"n": 0}
    real = eng._save_checkpoint

    def crash_after_second(*a, **k):
        real(*a, **k)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    eng._save_checkpoint = crash_after_second
    try:
        with pytest.raises(KeyboardInterrupt):
            train(s, data, checkpoint=ck, **kw)
    finally:
        eng._save_checkpoint = real
    assert ck.exists()
    return train(s, data, checkpoint=ck, **kw)


def test_checkpoint_resume_is_bitwise_identical(tmp_path):
    data = regression_data()
    s = spec(epochs=6, checkpoint_every=2, snapshot_epochs=[0, 3], record_steps=True)
    full = train(s, data)
    resumed = resume_after_crash(s, data, tmp_path / "ck.pt")
    assert resumed.metrics.equals(full.metrics)
    assert resumed.steps.equals(full.steps)
    for a, b in zip(resumed.snapshots.weights, full.snapshots.weights, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize(
    "model,shape",
    [
        ({"type": "mlp", "hidden": [10, 7]}, (1,)),
        ({"type": "mlp", "hidden": [16]}, (1, 28, 28)),
        ({"type": "cnn", "channels": [4, 6], "hidden": [8]}, (1, 28, 28)),
        ({"type": "cnn", "channels": [3, 4, 5, 6], "hidden": [], "pool_every": 2}, (1, 28, 28)),
    ],
)
def test_stacked_forward_equals_each_seeds_own_module(model, shape):
    from hw1.architectures import ModelSpec

    ms = ModelSpec.from_dict(model, shape, 3)
    seeds = (0, 5, 7)
    ens = StackedEnsemble(ms, seeds, torch.device("cpu"))
    x = torch.randn(4, *shape)
    xs = torch.randn(3, 4, *shape)
    with torch.no_grad():
        shared, own = ens.forward(x, True), ens.forward(xs, False)
        for i, s in enumerate(seeds):
            net = init_model(ms, s)
            torch.testing.assert_close(shared[i], net(x), rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(own[i], net(xs[i]), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- stop rule


@pytest.mark.parametrize(
    "losses, patience, rel_tol, abs_tol, want",
    [
        ([[1.0], [0.5], [0.4], [0.4], [0.41]], 3, 0.0, 0.0, False),  # 2 epochs since the best
        ([[1.0], [0.5], [0.4], [0.4], [0.41], [0.4]], 3, 0.0, 0.0, True),  # 3 epochs: stalled
        ([[1.0, 1.0], [0.5, 0.9], [0.5, 0.8], [0.5, 0.7], [0.5, 0.6]], 3, 0.0, 0.0, False),
        ([[1.0], [0.95], [0.92], [0.91]], 3, 0.1, 0.0, True),  # none 10% below the best before
        ([[1.0], [0.95], [0.92], [0.85]], 3, 0.1, 0.0, False),  # 0.85 < 0.9 x 1.0: improved
        ([[1.0], [float("nan")], [float("nan")]], 2, 0.0, 0.0, True),  # NaN never improves
        ([[1e-9], [5e-10], [2e-10], [1e-10]], 3, 0.1, 1e-5, True),  # float32's floor: stalled
        ([[1.0], [0.5], [0.4], [0.4]], 3, 0.1, 1e-5, False),  # 0.5: an improvement of both
        ([[1e-3], [8e-4], [7e-4], [6e-4]], 3, 0.1, 5e-4, True),  # 10% but not 5e-4 below
        ([[1e-3], [8e-4], [7e-4], [6e-4]], 3, 0.5, 1e-5, True),  # 1e-5 but not 50% below
    ],
)
def test_stalled_is_no_seed_improving_for_patience_epochs(losses, patience, rel_tol, abs_tol, want):
    assert stalled(torch.tensor(losses), patience, rel_tol, abs_tol) is want


@pytest.mark.parametrize("static", [False, True])
@pytest.mark.parametrize("tol", [{"rel_tol": 0.99}, {"abs_tol": 1e9}])
def test_stop_rule_ends_the_run_and_keeps_its_records(static, tol):
    """rel_tol 0.99 (an epoch must cut the loss a hundredfold), or abs_tol 1e9, stalls from
    epoch 0: the run ends after `patience` epochs, its records and final snapshot are those of
    a plain run of that many epochs (same init, same data order, constant lr), and the spec as
    run says so."""
    data = regression_data()
    patience = 3
    stopped = train(spec(epochs=20, stop={"patience": patience, **tol}), data, static=static)
    plain = train(spec(epochs=patience), data, static=static)
    assert stopped.spec.epochs == patience and stopped.spec.stop["patience"] == patience
    assert stopped.spec.stop["epoch_limit"] == 20
    assert stopped.metrics["epoch"].max() == patience
    pd.testing.assert_frame_equal(stopped.metrics, plain.metrics)
    pd.testing.assert_frame_equal(stopped.snapshots, plain.snapshots)
    # an improving run is not stopped
    full = train(spec(epochs=6, stop={"patience": 5, "rel_tol": 0.0}), data, static=static)
    assert full.spec.epochs == 6 and full.metrics["epoch"].max() == 6
