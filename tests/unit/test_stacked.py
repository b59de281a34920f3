"""The fast paths against independent computation: hand-written backprop against autograd,
fused optimizers against torch.optim, analytic parameter counts against real modules,
batched Hessians against per-run ones, schedules against torch's schedulers."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from hw1.analysis.hessian import (
    grad_norm_gradient,
    hessian_matrix,
    stacked_grad_norm_gradient,
    stacked_hessians,
)
from hw1.architectures import ModelSpec, param_count, spec_of, train_flops_per_example
from hw1.config import ConfigError, expand_variants, validate
from hw1.engine import Data, data_seed, lr_at, model_spec, train
from hw1.models import build_model, count_params, flat_loss_fn, unflatten
from hw1.resources import job_threads
from hw1.stacked import (
    DenseBackprop,
    FusedOptimizer,
    StackedEnsemble,
    evaluate,
    init_model,
    per_seed_loss,
)
from hw1.trainspec import TrainSpec
from tests.builders import train_spec
from tests.conftest import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu"])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_dense_backprop_equals_autograd(activation, task):
    shape = (1,) if task == "regression" else (1, 28, 28)
    n_out = 1 if task == "regression" else 10
    ms = ModelSpec.from_dict(
        {"type": "mlp", "hidden": [7, 5], "activation": activation}, shape, n_out
    )
    seeds = (0, 3, 5)
    ens = StackedEnsemble(ms, seeds, torch.device("cpu"))
    bp = DenseBackprop(ens, task)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 11, *shape, generator=g)
    y = (
        torch.randn(3, 11, 1, generator=g)
        if task == "regression"
        else torch.randint(0, 10, (3, 11), generator=g)
    )
    loss = bp.loss_and_grad(x, y, want_loss=True)
    for i, s in enumerate(seeds):
        net = init_model(ms, s)
        out = net(x[i])
        ref = (
            nn.functional.mse_loss(out, y[i])
            if task == "regression"
            else nn.functional.cross_entropy(out, y[i])
        )
        ref.backward()
        assert loss[i].item() == pytest.approx(ref.item(), rel=1e-6)
        grads = ens._views(bp.grad)
        for name, p in net.named_parameters():
            torch.testing.assert_close(grads[name][i], p.grad, rtol=1e-5, atol=1e-7)


def test_dense_backprop_breaks_if_a_layer_gradient_is_dropped():
    """The check above has teeth: zeroing one layer's weight gradient is detected."""
    ms = ModelSpec.from_dict({"type": "mlp", "hidden": [4]}, (1,), 1)
    ens = StackedEnsemble(ms, (0,), torch.device("cpu"))
    bp = DenseBackprop(ens, "regression")
    x, y = torch.randn(1, 6, 1), torch.randn(1, 6, 1)
    bp.loss_and_grad(x, y, want_loss=False)
    bp.layers[0].grad_weight.zero_()
    net = init_model(ms, 0)
    nn.functional.mse_loss(net(x[0]), y[0]).backward()
    with pytest.raises(AssertionError):
        torch.testing.assert_close(ens._views(bp.grad)["0.weight"][0], net[0].weight.grad)


@pytest.mark.parametrize(
    "kind,kw",
    [
        ("adam", {}),
        ("adam", {"weight_decay": 0.01}),
        ("sgd", {}),
        ("sgd", {"momentum": 0.9}),
        ("sgd", {"momentum": 0.5, "weight_decay": 0.1}),
    ],
)
def test_fused_optimizer_equals_torch_optim(kind, kw):
    g = torch.Generator().manual_seed(0)
    start = torch.randn(50, generator=g)
    ref_p = nn.Parameter(start.clone())
    ref = (torch.optim.Adam if kind == "adam" else torch.optim.SGD)([ref_p], lr=0.01, **kw)
    p, grad = start.clone(), torch.zeros(50)
    opt = FusedOptimizer(kind, [p], [grad], lr=0.01, **kw)
    for step in range(30):
        gr = torch.randn(50, generator=g)
        ref_p.grad = gr.clone()
        ref.step()
        grad.copy_(gr)
        opt.step()
        if step == 15:  # a checkpoint in the middle changes nothing
            state = copy.deepcopy(opt.state_dict())
            opt = FusedOptimizer(kind, [p], [grad], lr=0.01, **kw)
            opt.load_state_dict(state)
    torch.testing.assert_close(p, ref_p.detach(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "model,shape",
    [
        ({"type": "mlp", "hidden": [157]}, (1,)),
        ({"type": "mlp", "hidden": [10, 10, 10, 10, 10]}, (1,)),
        ({"type": "mlp", "hidden": [1024, 1024]}, (1, 28, 28)),
        ({"type": "cnn", "channels": [8], "hidden": [16]}, (1, 28, 28)),
        ({"type": "cnn", "channels": [8, 16, 32, 64], "hidden": []}, (1, 28, 28)),
        (
            {
                "type": "cnn",
                "channels": [3, 4, 5],
                "hidden": [6],
                "pool_every": 2,
                "kernel_size": 5,
            },
            (1, 28, 28),
        ),
    ],
)
def test_param_count_without_building_equals_the_module(model, shape):
    ms = ModelSpec.from_dict(model, shape, 10)
    assert param_count(ms) == count_params(build_model(ms))


def test_train_flops_of_an_mlp():
    ms = ModelSpec.from_dict({"type": "mlp", "hidden": [32, 16]}, (1, 28, 28), 10)
    assert train_flops_per_example(ms) == 6 * (784 * 32 + 32 * 16 + 16 * 10)


def _tiny_config(**train_over) -> dict:
    cfg = {
        "data": {},
        "functions": {"sinc": {"domain": [-1.0, 1.0], "n_train": 50}},
        "experiments": {
            "grad_norm": {
                "train": {
                    "optimizer": "adam",
                    "lr": 0.01,
                    "seeds": 1,
                    "record_steps": True,
                    "dataset": "sinc",
                    "batch_size": 10,
                    "epochs": 2,
                    **train_over,
                },
                "variants": {"a": {"model": {"type": "mlp", "hidden": [4]}}},
            }
        },
    }
    return cfg


def test_absurd_width_is_rejected_at_parse_naming_the_key():
    cfg = _tiny_config()
    cfg["experiments"]["grad_norm"]["variants"]["a"]["model"]["hidden"] = [10**9, 10**9]
    with pytest.raises(ConfigError) as exc:
        validate(cfg, SCHEMA)  # would allocate 4e18 bytes if a network were built
    assert "experiments.grad_norm (variant a)" in str(exc.value)
    assert "shrink the widths" in str(exc.value)


def test_threads_follow_the_model_and_can_be_overridden():
    cfg = validate(_tiny_config(), SCHEMA)
    spec = expand_variants(cfg)["grad_norm"]["a"]
    assert job_threads(spec, 2) == 1  # a tiny function net
    big = dict(spec, dataset="mnist", model={"type": "mlp", "hidden": [1024, 1024]}, batch_size=128)
    assert job_threads(big, 2) == 2
    mid = dict(big, model={"type": "mlp", "hidden": [32, 32]}, seeds=list(range(8)))
    assert job_threads(mid, 2) == 1  # 0.16 GFLOP per step: two such jobs side by side instead
    cnn = dict(mid, model={"type": "cnn", "channels": [8], "hidden": [16]})
    assert job_threads(cnn, 4) == 4
    assert job_threads(dict(big, threads=1), 2) == 1
    assert job_threads(dict(spec, threads=3), 2) == 3
    assert spec_of(big).input_shape == (1, 28, 28)


def test_train_examples_beyond_the_training_set_is_rejected():
    with pytest.raises(ConfigError, match="train_examples 60 exceeds the training set"):
        validate(_tiny_config(train_examples=60), SCHEMA)


@pytest.mark.parametrize(
    "schedule",
    [
        {"type": "constant"},
        {"type": "step", "step_size": 3, "gamma": 0.5},
        {"type": "cosine", "min_lr": 1e-4},
    ],
)
def test_lr_schedule_equals_torch_schedulers(schedule):
    spec = train_spec(
        dataset="fn", model={"type": "mlp", "hidden": [2]}, lr=0.1, epochs=10, lr_schedule=schedule
    )
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = {
        "constant": lambda: None,
        "step": lambda: torch.optim.lr_scheduler.StepLR(opt, 3, 0.5),
        "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(opt, 10, 1e-4),
    }[schedule["type"]]()
    for epoch in range(1, 11):
        assert lr_at(spec, epoch) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        if sched is not None:
            opt.step()
            sched.step()


def test_evaluation_over_several_chunks_equals_one_chunk():
    ms = ModelSpec.from_dict({"type": "mlp", "hidden": [8]}, (1, 28, 28), 10)
    ens = StackedEnsemble(ms, (0, 1), torch.device("cpu"))
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(101, 1, 28, 28, generator=g), torch.randint(0, 10, (101,), generator=g)
    one = evaluate(ens, "classification", x, y, 1000)
    for chunk in (1, 7, 50):
        many = evaluate(ens, "classification", x, y, chunk)
        torch.testing.assert_close(many[0], one[0], rtol=1e-6, atol=0)
        torch.testing.assert_close(many[1], one[1], rtol=0, atol=0)
    # and against each network on the whole set at once
    for i, s in enumerate((0, 1)):
        out = init_model(ms, s)(x)
        assert one[0][i].item() == pytest.approx(
            nn.functional.cross_entropy(out, y).item(), rel=1e-5
        )


def test_dense_cpu_evaluation_is_chunked_by_activation_bytes(monkeypatch):
    import hw1.stacked as st

    ms = ModelSpec.from_dict({"type": "mlp", "hidden": [40, 8]}, (1, 28, 28), 10)
    ens = StackedEnsemble(ms, (0, 1, 2), torch.device("cpu"))
    assert st.dense_eval_chunk(ens) == st.DENSE_EVAL_BYTES // (4 * 3 * 40)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(1000, 1, 28, 28, generator=g), torch.randint(0, 10, (1000,), generator=g)
    whole = evaluate(ens, "classification", x, y, 10000)  # one chunk: 1000 <= the cap
    monkeypatch.setattr(st, "DENSE_EVAL_BYTES", 4 * 3 * 40 * 300)  # widest [3, 300, 40]
    calls = []
    forward = ens.forward
    monkeypatch.setattr(ens, "forward", lambda xc, **kw: calls.append(len(xc)) or forward(xc, **kw))
    capped = evaluate(ens, "classification", x, y, 10000)
    assert calls == [300, 300, 300, 100]
    torch.testing.assert_close(capped[0], whole[0], rtol=1e-6, atol=0)
    torch.testing.assert_close(capped[1], whole[1], rtol=0, atol=0)
    monkeypatch.setattr(st, "DENSE_EVAL_BYTES", 1)  # never below 256 images a chunk
    calls.clear()
    evaluate(ens, "classification", x, y, 10000)
    assert calls == [256, 256, 256, 232]


def test_cnn_evaluation_chunks_equal_a_plain_module():
    ms = ModelSpec.from_dict({"type": "cnn", "channels": [3, 4], "hidden": [5]}, (1, 28, 28), 10)
    ens = StackedEnsemble(ms, (2, 4), torch.device("cpu"))
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(300, 1, 28, 28, generator=g), torch.randint(0, 10, (300,), generator=g)
    loss, acc = evaluate(ens, "classification", x, y, 10000)  # capped at 128 per chunk
    for i, s in enumerate((2, 4)):
        with torch.no_grad():
            out = init_model(ms, s)(x)
        assert loss[i].item() == pytest.approx(nn.functional.cross_entropy(out, y).item(), rel=1e-5)
        assert acc[i].item() == pytest.approx((out.argmax(1) == y).double().mean().item(), abs=0)


def _sinc_spec(**kw) -> TrainSpec:
    model = {"type": "mlp", "hidden": [5, 4], "activation": "tanh"}
    return train_spec(**{"experiment": "m", "model": model, "epochs": 1, **kw})


def test_batched_grad_norm_gradient_and_hessians_equal_per_run_ones():
    from hw1.jobs.optimization import float64_loss_fn, stacked_float64_loss_fn

    spec = _sinc_spec()
    ens = StackedEnsemble(model_spec(spec, (1,)), (0, 1, 2), torch.device("cpu"))
    thetas = ens.flat().double()
    x = torch.linspace(-1, 1, 40, dtype=torch.float64).unsqueeze(1)
    y = torch.sinc(5 * x)
    f, fb = float64_loss_fn(spec), stacked_float64_loss_fn(spec)
    for a, b in zip(
        grad_norm_gradient(f, thetas, x, y),
        stacked_grad_norm_gradient(fb, thetas, x, y),
        strict=True,
    ):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)
    hs = stacked_hessians(fb, thetas, x, y)
    for i in range(3):
        torch.testing.assert_close(
            hs[i], hessian_matrix(lambda t: f(t, x, y), thetas[i]), rtol=1e-9, atol=1e-12
        )


def test_step_records_are_taken_before_each_update():
    """Every recorded minibatch loss and gradient norm is that of the weights BEFORE that
    step's update: a plain loop with a large learning rate (the weights move visibly every
    step) gives the same sequence, and a record taken after the update would not."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(40, 1, generator=g) * 2 - 1
    data = Data(x, torch.sin(3 * x), x[:10], torch.sin(3 * x[:10]))
    spec = _sinc_spec(optimizer="sgd", lr=0.3, epochs=2, seeds=[1], record_steps=True, dataset="fn")
    r = train(spec, data)
    net = init_model(model_spec(spec, (1,)), 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.3)
    gen = torch.Generator().manual_seed(data_seed(1))
    losses, norms = [], []
    for _ in range(2):
        perm = torch.randperm(40, generator=gen)
        for k in range(4):
            idx = perm[k * 10 : (k + 1) * 10]
            opt.zero_grad()
            loss = nn.functional.mse_loss(net(x[idx]), data.y_train[idx])
            loss.backward()
            losses.append(loss.item())
            norms.append(math.sqrt(sum(p.grad.pow(2).sum().item() for p in net.parameters())))
            opt.step()
    np.testing.assert_allclose(r.steps.loss, losses, rtol=1e-4)
    np.testing.assert_allclose(r.steps.grad_norm, norms, rtol=1e-4)
    # the weights really move: consecutive losses differ by far more than the tolerance
    assert np.abs(np.diff(losses)).min() > 1e-3


def test_training_on_a_subset_uses_the_first_examples(tmp_path):
    from hw1.jobs.train import load_data

    spec = _sinc_spec(train_examples=7)
    fn = tmp_path / "fn_sinc.parquet"
    from hw1.data import write_function_grid

    write_function_grid("sinc", (-1.0, 1.0), 20, fn)
    d = load_data(spec, {"function": str(fn)}, {}, torch.device("cpu"))
    assert d.x_train.shape[0] == 7 and d.x_test.shape[0] == 19
    torch.testing.assert_close(d.x_train[:, 0], torch.linspace(-1, 1, 20)[:7])


def test_stacked_forward_with_external_params_is_differentiable():
    ms = ModelSpec.from_dict({"type": "mlp", "hidden": [3]}, (1,), 1)
    ens = StackedEnsemble(ms, (0, 1), torch.device("cpu"))
    thetas = ens.flat().requires_grad_()
    out = ens.forward(torch.ones(4, 1), True, params=unflatten(thetas, ens.layout))
    per_seed_loss("regression", out, torch.zeros(2, 4, 1)).sum().backward()
    assert thetas.grad is not None and thetas.grad.abs().sum() > 0
    f = flat_loss_fn(init_model(ms, 1), nn.MSELoss())
    ref = torch.func.grad(f)(thetas.detach()[1], torch.ones(4, 1), torch.zeros(4, 1))
    torch.testing.assert_close(thetas.grad[1], ref)


def test_analysis_jobs_accept_device_auto(mnist_cache):
    """device: auto (the default) reaches analysis jobs unresolved; they resolve it."""
    from hw1.jobs.generalization import run_data

    spec = train_spec(dataset="mnist", batch_size=10, epochs=1)
    data = run_data(spec, str(mnist_cache), {"train_size": 20, "test_size": 10}, "auto")
    assert data.x_train.shape[0] == 20 and data.x_train.device.type in ("cpu", "cuda")


def _cnn_grads(ens: StackedEnsemble, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """The stacked CNN's output and parameter gradients for per-seed inputs ``x`` [S, B, ...]."""
    thetas = ens.flat().requires_grad_()
    out = ens.forward(x, False, params=unflatten(thetas, ens.layout))
    per_seed_loss("classification", out, y).sum().backward()
    return [out.detach(), thetas.grad]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize(
    "model",
    [
        {"type": "cnn", "channels": [4], "hidden": [6]},  # pool then flatten
        {"type": "cnn", "channels": [3, 4, 5, 6], "hidden": []},  # down to 1x1
        {"type": "cnn", "channels": [3, 4], "hidden": [5], "pool_every": 2},  # conv, conv-pool
    ],
)
def test_stacked_cnn_gradients_equal_each_seeds_own_module(model, activation):
    ms = ModelSpec.from_dict({**model, "activation": activation}, (1, 28, 28), 10)
    seeds = (0, 3, 8)
    ens = StackedEnsemble(ms, seeds, torch.device("cpu"))
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 16, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (3, 16), generator=g)
    out, grad = _cnn_grads(ens, x, y)
    for i, s in enumerate(seeds):
        net = init_model(ms, s)
        ref_out = net(x[i])
        nn.functional.cross_entropy(ref_out, y[i]).backward()
        ref = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
        torch.testing.assert_close(out[i], ref_out.detach(), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(grad[i], ref, rtol=1e-4, atol=1e-6)


def test_pool_before_relu_is_bit_identical_to_the_modules_order():
    """The stacked forward pools before the ReLU (the faster order); outputs and gradients
    must be exactly those of the module order, ties in all-negative windows included."""
    ms = ModelSpec.from_dict({"type": "cnn", "channels": [4, 6], "hidden": [8]}, (1, 28, 28), 10)
    ens = StackedEnsemble(ms, (0, 1), torch.device("cpu"))
    kinds = [type(m) for _, m in ens.order]
    assert kinds[1:3] == [nn.MaxPool2d, nn.ReLU]  # swapped: conv, pool, relu, ...
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 32, 1, 28, 28, generator=g) - 0.5  # many all-negative windows
    y = torch.randint(0, 10, (2, 32), generator=g)
    swapped = _cnn_grads(ens, x, y)
    ens.order = list(ens.template.named_children())
    plain = _cnn_grads(ens, x, y)
    for a, b in zip(swapped, plain, strict=True):
        assert torch.equal(a, b)


def test_conv_to_dense_flatten_returns_a_channels_last_gradient():
    """The flatten between conv and dense layers copies to NCHW and hands its gradient back
    in channels-last, the max pool's format (so its backward copies nothing)."""
    from hw1.stacked import _ToNCHW

    leaf = torch.randn(4, 6, 5, 5).contiguous(memory_format=torch.channels_last)
    h = leaf.requires_grad_() * 1.0  # not a leaf: a leaf's .grad is re-laid out to match it
    seen = []
    h.register_hook(seen.append)  # the gradient as handed to the layer below
    out = _ToNCHW.apply(h)
    assert out.is_contiguous() and torch.equal(out, h.detach())
    g = torch.randn(4, 6, 5, 5)
    out.backward(g)
    assert seen[0].is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(seen[0], g)


@pytest.mark.parametrize("shape", [(5, 6, 28, 28), (3, 4, 7, 7), (2, 3, 5, 8), (1, 2, 2, 2)])
def test_evaluation_max_pool_equals_max_pool2d(shape):
    """The index-free 2x2 pool of the stacked evaluation gives exactly ``F.max_pool2d``'s
    values and layout: ties (rounded values, zeros), NaN, -inf and odd sizes included."""
    from hw1.stacked import max_pool_2x2

    g = torch.Generator().manual_seed(3)
    h = torch.randn(*shape, generator=g).round(decimals=1)
    h[torch.rand(shape, generator=g) < 0.2] = 0.0
    h.view(-1)[:: max(1, h.numel() // 7)] = float("-inf")
    h.view(-1)[3] = float("nan")
    h = h.contiguous(memory_format=torch.channels_last)
    want = nn.functional.max_pool2d(h, 2)
    got = max_pool_2x2(h)
    assert torch.equal(got.isnan(), want.isnan())
    assert torch.equal(got.nan_to_num(), want.nan_to_num())
    assert got.stride() == want.stride()


def test_cnn_evaluation_with_the_index_free_pool_is_bit_identical(monkeypatch):
    """``evaluate`` of a CNN ensemble pools without indices (under no_grad); its losses and
    accuracies must be exactly those through ``nn.MaxPool2d``, and the training forward
    (grad enabled) must keep the module's pool."""
    import hw1.stacked as st

    ms = ModelSpec.from_dict({"type": "cnn", "channels": [3, 4, 5], "hidden": [6]}, (1, 28, 28), 10)
    ens = StackedEnsemble(ms, (1, 5, 7), torch.device("cpu"))
    g = torch.Generator().manual_seed(4)
    x, y = torch.rand(300, 1, 28, 28, generator=g), torch.randint(0, 10, (300,), generator=g)
    calls = []
    real = st.max_pool_2x2
    monkeypatch.setattr(st, "max_pool_2x2", lambda h: calls.append(h.shape) or real(h))
    fast = evaluate(ens, "classification", x, y, 10000)
    assert len(calls) == 3 * math.ceil(300 / st.CONV_EVAL_CHUNK)  # every pool of every chunk
    monkeypatch.setattr(st, "_plain_2x2", lambda mod, h: False)
    plain = evaluate(ens, "classification", x, y, 10000)
    for a, b in zip(fast, plain, strict=True):
        assert torch.equal(a, b)
    monkeypatch.undo()
    calls.clear()
    monkeypatch.setattr(st, "max_pool_2x2", lambda h: calls.append(h.shape) or real(h))
    ens.forward(x[:8], shared_input=True).sum()  # grad enabled: the module's pool
    assert calls == []
