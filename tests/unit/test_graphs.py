"""The capturable training step (static buffers, device-side positions, lr in a device tensor)
against the eager loop.

On the CPU the static-buffer step runs eagerly and must give bit-identical results: it is the
exact function a CUDA graph captures, so this checks its minibatch selection, learning-rate
schedule, records and checkpointing without a GPU. With CUDA (skipped otherwise, run on the
GPU machine) the captured run must agree with the eager run to float32 round-off.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hw1.engine as eng
from hw1.engine import Data, train
from tests.unit.test_engine import classification_data, regression_data, resume_after_crash, spec

CASES = {
    "dense regression, records, cosine": (
        dict(
            record_steps=True,
            lr_schedule={"type": "cosine", "min_lr": 1e-4},
            snapshot_epochs=[0, 2],
        ),
        "regression",
    ),
    "dense classification, sgd momentum, step lr": (
        dict(
            dataset="mnist",
            model={"type": "mlp", "hidden": [24]},
            optimizer="sgd",
            momentum=0.9,
            lr=0.05,
            lr_schedule={"type": "step", "step_size": 2, "gamma": 0.5},
            batch_size=16,
            record_steps=True,
        ),
        "classification",
    ),
    "cnn, records": (
        dict(
            dataset="mnist",
            model={"type": "cnn", "channels": [4, 6], "hidden": [12]},
            batch_size=16,
            epochs=3,
            seeds=[0, 1],
            record_steps=True,
            eval_batch_size=40,
        ),
        "classification",
    ),
}


def _data(kind: str, device: str = "cpu") -> Data:
    d = regression_data() if kind == "regression" else classification_data()
    return Data(*(t.to(device) for t in (d.x_train, d.y_train, d.x_test, d.y_test)))


def _same(a, b, *, exact: bool, rtol: float = 0.0, atol: float = 0.0) -> None:
    cols = ["loss", "accuracy"]
    if exact:
        assert a.metrics.equals(b.metrics)
        assert a.steps.equals(b.steps)
        for x, y in zip(a.snapshots.weights, b.snapshots.weights, strict=True):
            assert np.array_equal(x, y)
        return
    np.testing.assert_allclose(a.metrics[cols], b.metrics[cols], rtol=rtol, atol=atol)
    np.testing.assert_allclose(
        a.steps[["loss", "grad_norm"]], b.steps[["loss", "grad_norm"]], rtol=rtol, atol=atol
    )
    for x, y in zip(a.snapshots.weights, b.snapshots.weights, strict=True):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", list(CASES))
def test_static_step_is_bitwise_the_eager_loop_on_cpu(case, monkeypatch):
    """Against the eager loop that gathers each minibatch as the static step does (the
    whole-epoch gather of small sets hands strided slices to the GEMMs: same numbers to
    round-off, checked below)."""
    kw, kind = CASES[case]
    s, data = spec(**kw), _data(kind)
    monkeypatch.setattr(eng, "PREGATHER_BYTES", 0)
    eager = train(s, data)
    static = train(s, data, static=True)
    assert static.metrics.loss.notna().all()
    _same(static, eager, exact=True)


def test_static_step_matches_the_pregathered_loop_to_round_off():
    kw, kind = CASES["dense regression, records, cosine"]
    s, data = spec(**kw), _data(kind)
    eager = train(s, data)
    static = train(s, data, static=True)
    _same(static, eager, exact=False, rtol=1e-5, atol=1e-7)


def test_static_step_reads_every_minibatch_of_the_permutation(monkeypatch):
    """Breaking the device offset (every step reading the first minibatch) must show."""
    s, data = spec(**CASES["dense regression, records, cosine"][0]), _data("regression")
    monkeypatch.setattr(eng, "PREGATHER_BYTES", 0)
    eager = train(s, data)
    real = eng.CapturedTrainer._static_step

    def stuck(self):
        real(self)
        self.offset.zero_()

    monkeypatch.setattr(eng.CapturedTrainer, "_static_step", stuck)
    broken = train(s, data, static=True)
    assert not broken.metrics.equals(eager.metrics)


def test_static_checkpoint_resume_is_bitwise_identical(tmp_path, monkeypatch):
    monkeypatch.setattr(eng, "PREGATHER_BYTES", 0)
    data = _data("regression")
    s = spec(epochs=6, checkpoint_every=2, snapshot_epochs=[0, 3], record_steps=True)
    full = train(s, data)
    resumed = resume_after_crash(s, data, tmp_path / "ck.pt", static=True)
    _same(resumed, full, exact=True)


def test_static_divergence_is_found_at_its_epoch():
    """Records reach the host only every few epochs in static mode; divergence must still be
    dated to the epoch it happened in, as in the eager loop."""
    data = _data("regression")
    s = spec(optimizer="sgd", lr=5.0, momentum=0.9, epochs=30, on_divergence="record")
    eager = train(s, data).metrics
    static = train(s, data, static=True).metrics
    assert eager.diverged.any()
    assert eager.diverged.equals(static.diverged)
    with pytest.raises(eng.TrainingDiverged, match="epoch"):
        train(spec(optimizer="sgd", lr=5.0, momentum=0.9, epochs=30), data, static=True)


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
@pytest.mark.parametrize("case", list(CASES))
def test_captured_run_matches_eager_on_cuda(case):
    kw, kind = CASES[case]
    s, data = spec(**{**kw, "epochs": 6}), _data(kind, "cuda")
    eager = train(s, data, graphs=False)
    captured = train(s, data, graphs=True)
    # the graphs were really captured and replayed (steps beyond the warm-up)
    assert captured.metrics.loss.notna().all()
    _same(captured, eager, exact=False, rtol=2e-4, atol=2e-5)


@cuda
def test_capture_happens_on_cuda(monkeypatch):
    replays = {"n": 0}
    real = torch.cuda.CUDAGraph.replay

    def counting(self):
        replays["n"] += 1
        real(self)

    monkeypatch.setattr(torch.cuda.CUDAGraph, "replay", counting)
    s, data = spec(epochs=4), _data("regression", "cuda")
    train(s, data, graphs=True)
    steps = 4 * (data.x_train.shape[0] // s.batch_size)
    assert replays["n"] == (steps - eng.GRAPH_WARMUP) + (5 - eng.GRAPH_WARMUP)


@cuda
def test_captured_run_matches_cpu():
    """Same minibatch order and initial weights on any device: GPU and CPU runs agree."""
    kw, kind = CASES["dense classification, sgd momentum, step lr"]
    s = spec(**kw)
    cpu = train(s, _data(kind))
    gpu = train(s, _data(kind, "cuda"), graphs=True)
    _same(gpu, cpu, exact=False, rtol=1e-3, atol=1e-4)
