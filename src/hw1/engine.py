"""Stacked-seed training on device-resident tensors.

All seeds of one variant train together: their parameters carry a leading seed dimension
(:class:`hw1.stacked.StackedEnsemble`) and one forward pass runs every seed. Adam and SGD act
elementwise, so one fused optimizer over the stacked tensors updates each seed exactly as its
own optimizer would; each seed's gradient is that of its own minibatch loss. Minibatches are
index slices of a per-seed, per-epoch permutation of the device-resident training set, all
of one static shape (the last incomplete batch of an epoch is dropped).

Metrics are evaluated on the FULL training and test sets after every epoch (epoch 0 is
the initialisation), never as running averages of minibatch losses.

:func:`train` reads top to bottom: set-up, resume, the epoch loop (train an epoch, record,
check divergence, checkpoint), finish. Its whole mutable state is one :class:`TrainState`,
saved and restored as one object.

On a CUDA device (``graphs=True``, the default) the training step and the full-set evaluation
run on static buffers and are captured once each in a CUDA graph, then replayed: the
minibatch indices come from a device copy of the epoch's permutation and a device offset, the
learning rate from a device tensor, and step and epoch records are written at device
positions, so one replay is the whole step and nothing syncs with the host until the records
are read (every ~5% of the epochs). The CPU keeps the eager loop; a test runs the same
static-buffer step eagerly on the CPU and finds it bit-identical to the eager loop.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from hw1 import datasets
from hw1.architectures import ModelSpec
from hw1.io import atomic_path
from hw1.models import ParamLayout
from hw1.runlog import Progress
from hw1.schema import lr_schedule
from hw1.stacked import (
    DenseBackprop,
    FusedOptimizer,
    StackedEnsemble,
    evaluate,
    grad_norms,
    per_example_loss,
    per_seed_loss,
)
from hw1.trainspec import TrainSpec

__all__ = [
    "CapturedTrainer",
    "Data",
    "EagerTrainer",
    "RunResult",
    "Trainer",
    "TrainingDiverged",
    "data_seed",
    "evaluate_flat",
    "lr_at",
    "make_trainer",
    "model_spec",
    "resolve_device",
    "stalled",
    "train",
]

log = logging.getLogger("hw1.engine")

# Gather a whole epoch's minibatches at once (one indexing op per epoch, not per step) when
# the permuted copy of the training set is at most this many bytes: it pays for tiny nets,
# whose steps are all overhead; image sets are gathered per step instead (memory).
PREGATHER_BYTES = 64 << 20


# Eager calls of a step before it is captured: the side-stream warm-up that CUDA graph capture
# needs (cuBLAS/cuDNN handles, autograd's lazy state); they are real training steps.
GRAPH_WARMUP = 3


class _Replay:
    """``fn`` (device work on static buffers only, no host reads) run eagerly, or, with
    ``graphs``, eagerly on a side stream for its first :data:`GRAPH_WARMUP` calls, then
    captured once in a CUDA graph that every later call replays."""

    def __init__(self, fn: Any, graphs: bool):
        self.fn, self.graphs = fn, graphs
        self.calls = 0
        self.graph: Any = None
        self.side: Any = None  # the warm-up stream

    def __call__(self) -> None:
        if self.graph is not None:
            self.graph.replay()
            return
        if not self.graphs:
            self.fn()
            return
        self.calls += 1
        if self.calls <= GRAPH_WARMUP:
            main = torch.cuda.current_stream()
            self.side = self.side or torch.cuda.Stream()
            self.side.wait_stream(main)
            with torch.cuda.stream(self.side):
                self.fn()
            main.wait_stream(self.side)
            return
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.fn()
        self.graph = graph
        graph.replay()


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite and the experiment asked to stop on divergence."""


@dataclass
class Data:
    """Device-resident tensors of one data set."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


@dataclass
class RunResult:
    spec: TrainSpec  # as run: with a stop rule, ``epochs`` is the number of epochs trained
    metrics: pd.DataFrame
    steps: pd.DataFrame
    snapshots: pd.DataFrame
    layout: ParamLayout
    n_params: int
    seconds: float


def data_seed(seed: int) -> int:
    """Seed of the minibatch order of run ``seed`` (independent of the init stream)."""
    return int.from_bytes(hashlib.sha256(f"hw1-data-order-{seed}".encode()).digest()[:7], "big")


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "device: cuda was asked for but torch sees no CUDA device; use cpu or auto"
        )
    return torch.device(device)


def n_outputs(spec: TrainSpec) -> int:
    """Classes of the spec's data set (registry), or 1 for a 1-D function."""
    return datasets.n_outputs(spec.dataset)


def model_spec(spec: TrainSpec, input_shape: tuple[int, ...]) -> ModelSpec:
    return ModelSpec.from_dict(spec.model, input_shape, n_outputs(spec))


def evaluate_flat(
    spec: TrainSpec, thetas: Tensor, x: Tensor, y: Tensor, chunk: int | None = None
) -> tuple[Tensor, Tensor]:
    """Full-set mean loss and accuracy of each parameter vector (row of ``thetas``) of the
    network of ``spec``; all rows are evaluated together as one stacked ensemble, ``chunk``
    examples per forward pass (default: the spec's ``eval_batch_size``)."""
    mspec = model_spec(spec, tuple(x.shape[1:]))
    ens = StackedEnsemble.from_flat(mspec, thetas.to(x.device, torch.float32))
    return evaluate(ens, spec.task, x, y, spec.eval_batch_size if chunk is None else chunk)


def lr_at(spec: TrainSpec, epoch: int) -> float:
    """Learning rate used during ``epoch`` (1-based) under the spec's per-epoch schedule
    (the closed forms of torch's StepLR and CosineAnnealingLR with T_max = epochs)."""
    sch = lr_schedule(spec.lr_schedule)
    kind = sch["type"]
    t = epoch - 1
    if kind == "constant":
        return spec.lr
    if kind == "step":
        return spec.lr * float(sch["gamma"]) ** (t // int(sch["step_size"]))
    if kind == "cosine":
        lo = float(sch["min_lr"])
        return lo + (spec.lr - lo) * (1.0 + math.cos(math.pi * t / spec.epochs)) / 2.0
    raise ValueError(f"unknown lr_schedule type {kind!r}; allowed: constant, step, cosine")


def stalled(train_loss: Tensor, patience: int, rel_tol: float = 0.0, abs_tol: float = 0.0) -> bool:
    """Whether training has stopped improving: ``train_loss`` holds the full training loss
    of every seed after each epoch so far (``[epochs + 1, S]``, epoch 0 first). An epoch
    improves a seed when its loss falls below ``(1 − rel_tol)`` times the seed's best loss
    before it and at least ``abs_tol`` below that best (non-finite losses never do; the
    absolute margin keeps a loss at float32's floor, ~1e-11 and still falling by
    rounding, from counting as progress); training has stalled when no seed has improved
    in the last ``patience`` epochs."""
    loss = train_loss.double().cpu().numpy()
    last_epoch = loss.shape[0] - 1
    for s in range(loss.shape[1]):
        best, improved = math.inf, 0
        for t, v in enumerate(loss[:, s]):
            if math.isfinite(v) and v < min(best * (1.0 - rel_tol), best - abs_tol):
                best, improved = float(v), t
        if last_epoch - improved < patience:
            return False
    return True


def _spec_fingerprint(spec: TrainSpec, n_train: int) -> str:
    return hashlib.sha256(repr((spec.to_dict(), n_train, "engine-v2")).encode()).hexdigest()


@dataclass
class TrainState:
    """Everything that changes during training; saved and restored as one object."""

    epoch: int  # epochs completed
    params: Tensor  # canonical [S, P] rows (only in checkpoints; live params are in the net)
    optimizer: dict[str, Any]
    generators: list[Tensor]  # data-order generator states, one per seed
    eval_loss: Tensor  # [epochs + 1, 2 (train, test), S] float64
    eval_acc: Tensor
    lrs: Tensor  # [epochs + 1] float64: lr used in each epoch (epoch 0: the initial lr)
    step_loss: Tensor  # [epochs, steps_per_epoch, S] (empty unless record_steps)
    step_gnorm: Tensor
    diverged_at: Tensor  # [S] int64: first epoch with a non-finite loss, -1 if none
    snapshots: dict[int, Tensor] = field(default_factory=dict)  # epoch -> [S, P] float32

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["snapshots"] = {int(k): v for k, v in self.snapshots.items()}
        return d

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> TrainState:
        return TrainState(**{**d, "snapshots": {int(k): v for k, v in d["snapshots"].items()}})


class Trainer:
    """The mutable machinery of one training job: network, optimizer, data order, records.

    One small interface, two implementations, chosen once by :func:`make_trainer`:
    :class:`EagerTrainer` (the eager loop, records on the host after every epoch) and
    :class:`CapturedTrainer` (static device buffers, captured in CUDA graphs on a CUDA
    device). The epoch loop of :func:`train` calls only :meth:`bind`, :meth:`train_epoch`,
    :meth:`record`, :meth:`sync` and :meth:`check_divergence`.
    """

    # the learning rate lives in a device tensor (read by a captured step)
    LR_ON_DEVICE = False
    # records are on the host after every epoch (else only after sync())
    HOST_RECORDS = True

    def __init__(self, spec: TrainSpec, data: Data):
        self.spec, self.data = spec, data
        self.device = data.x_train.device
        self.n_train = data.x_train.shape[0]
        self.bs = spec.batch_size
        if self.bs > self.n_train:
            raise ValueError(
                f"batch_size {self.bs} exceeds the training set ({self.n_train} examples) of "
                f"{spec.experiment}/{spec.variant}; lower it"
            )
        self.steps_per_epoch = self.n_train // self.bs
        self.n_seeds = len(spec.seeds)
        self.ens = StackedEnsemble(model_spec(spec, data.input_shape), spec.seeds, self.device)
        if self.ens.is_dense:
            self.backprop: DenseBackprop | None = DenseBackprop(self.ens, spec.task)
            params, grads = [self.ens.theta], [self.backprop.grad]
            self.grad_views = list(self.ens._views(self.backprop.grad).values())
            self.x_train = data.x_train.reshape(self.n_train, -1)
        else:  # conv nets: autograd on separate leaf tensors
            self.backprop = None
            self.ens.params = {
                k: v.detach().clone().requires_grad_() for k, v in self.ens.params.items()
            }
            params = list(self.ens.params.values())
            for p in params:
                p.grad = torch.zeros_like(p)
            grads = [p.grad for p in params]
            self.grad_views = grads
            self.x_train = data.x_train
        self.opt = FusedOptimizer(
            spec.optimizer,
            params,
            grads,
            lr=spec.lr,
            momentum=spec.momentum,
            weight_decay=spec.weight_decay,
            lr_tensor=self.LR_ON_DEVICE,
        )
        self.gens = [torch.Generator().manual_seed(data_seed(s)) for s in spec.seeds]
        self.snapshot_epochs = set(spec.snapshot_epochs) | {spec.epochs}  # final always kept
        # evaluate train and test in one forward pass when both fit in one chunk
        n_eval = self.n_train + data.x_test.shape[0]
        self.joint_eval = self.ens.is_dense and n_eval <= spec.eval_batch_size
        if self.joint_eval:
            self.eval_x = torch.cat([data.x_train, data.x_test])
            self.eval_y = torch.cat([data.y_train, data.y_test])

    # ------------------------------------------------------------- the interface
    def bind(self, state: TrainState, recorded: int) -> None:
        """Point the trainer at ``state``'s records; ``recorded``: the last epoch whose
        evaluation is already in ``state`` (-1 for a fresh start, the epoch resumed from)."""

    def train_epoch(self, state: TrainState, epoch: int) -> None:
        """One epoch of minibatch steps (all seeds at once)."""
        raise NotImplementedError

    def record(self, state: TrainState, epoch: int) -> None:
        """Full-set metrics of every seed after ``epoch``; weight snapshot when due."""
        state.lrs[epoch] = lr_at(self.spec, max(epoch, 1))
        self._record_metrics(state, epoch)
        if epoch in self.snapshot_epochs:
            state.snapshots[epoch] = self._kept(self.ens.flat().float())

    def sync(self, state: TrainState, epoch: int) -> list[int]:
        """Bring the records of the epochs up to ``epoch`` to the host; the epochs newly
        there, for the divergence check."""
        return [epoch]

    def _record_metrics(self, state: TrainState, epoch: int) -> None:
        raise NotImplementedError

    def _kept(self, snapshot: Tensor) -> Tensor:
        """Where a weight snapshot is kept until the run ends."""
        return snapshot.cpu()

    # ------------------------------------------------------------------ state
    def fresh_state(self) -> TrainState:
        s, e, k = self.n_seeds, self.spec.epochs, self.steps_per_epoch
        rec = (e, k, s) if self.spec.record_steps else (0, 0, s)
        return TrainState(
            epoch=0,
            params=torch.empty(0),
            optimizer={},
            generators=[],
            eval_loss=torch.full((e + 1, 2, s), float("nan"), dtype=torch.float64),
            eval_acc=torch.full((e + 1, 2, s), float("nan"), dtype=torch.float64),
            lrs=torch.full((e + 1,), float("nan"), dtype=torch.float64),
            step_loss=torch.zeros(rec, dtype=torch.float32, device=self.device),
            step_gnorm=torch.zeros(rec, dtype=torch.float32, device=self.device),
            diverged_at=torch.full((s,), -1, dtype=torch.int64),
        )

    def checkpoint_state(self, state: TrainState) -> TrainState:
        """The state with the live network, optimizer and generators copied in (for a
        checkpoint: records on the host, snapshots on the CPU)."""
        self.sync(state, state.epoch)
        state.snapshots = {k: v.cpu() for k, v in state.snapshots.items()}
        state.params = self.ens.flat().cpu()
        state.optimizer = self.opt.state_dict()
        state.generators = [g.get_state() for g in self.gens]
        return state

    def restore(self, state: TrainState) -> None:
        self.ens.load_flat(state.params.to(self.device))
        self.opt.load_state_dict(state.optimizer)
        for g, st in zip(self.gens, state.generators, strict=True):
            g.set_state(st)

    # ------------------------------------------------------------ shared work
    def loss_and_grad(self, xb: Tensor, yb: Tensor) -> Tensor | None:
        if self.backprop is not None:
            return self.backprop.loss_and_grad(xb, yb, self.spec.record_steps)
        for g in self.opt.grads:
            g.zero_()
        losses = per_seed_loss(self.spec.task, self.ens.forward(xb, shared_input=False), yb)
        losses.sum().backward()
        return losses

    def _metrics(self) -> tuple[Tensor, Tensor]:
        """Full-set loss and accuracy ``[2 (train, test), S]`` (float64, on the device)."""
        spec, data = self.spec, self.data
        if self.joint_eval:
            return self._joint_eval()
        loss, acc = zip(
            *(
                evaluate(self.ens, spec.task, x, y, spec.eval_batch_size)
                for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test))
            ),
            strict=True,
        )
        return torch.stack(loss), torch.stack(acc)

    @torch.no_grad()
    def _joint_eval(self) -> tuple[Tensor, Tensor]:
        """Train and test metrics ``[2, S]`` from one forward pass over both sets."""
        task, n = self.spec.task, self.n_train
        out = self.ens.forward(self.eval_x, shared_input=True)
        yy = self.eval_y.unsqueeze(0).expand(self.n_seeds, *self.eval_y.shape)
        per = per_example_loss(task, out, yy).double()
        loss = torch.stack([per[:, :n].mean(1), per[:, n:].mean(1)])
        if task == "classification":
            hit = (out.argmax(-1) == self.eval_y.unsqueeze(0)).double()
            acc = torch.stack([hit[:, :n].mean(1), hit[:, n:].mean(1)])
        else:
            acc = torch.full_like(loss, float("nan"))
        return loss, acc

    def check_divergence(self, state: TrainState, epoch: int) -> None:
        """Mark seeds whose full training loss became NaN/inf; stop unless asked to record."""
        train_loss = state.eval_loss[epoch, 0]
        if bool(torch.isfinite(train_loss).all()):
            return
        spec = self.spec
        for i, s in enumerate(spec.seeds):
            if not math.isfinite(float(train_loss[i])) and int(state.diverged_at[i]) < 0:
                state.diverged_at[i] = epoch
                msg = (
                    f"training diverged: experiment {spec.experiment}, variant {spec.variant}, "
                    f"seed {s}, learning rate {spec.lr} ({spec.optimizer}), epoch {epoch}: full "
                    f"training loss is {float(train_loss[i])}"
                )
                if spec.on_divergence == "stop":
                    raise TrainingDiverged(
                        msg + ". Lower the learning rate, or set on_divergence: "
                        "record for this experiment to keep the run marked as diverged."
                    )
                log.warning("%s; kept and marked diverged (on_divergence: record)", msg)


class EagerTrainer(Trainer):
    """The eager loop: each epoch's permutations drawn on the host, each minibatch gathered
    (or the whole epoch's at once when small, :data:`PREGATHER_BYTES`), records written to
    the host after every step and epoch."""

    def __init__(self, spec: TrainSpec, data: Data):
        super().__init__(spec, data)
        row_bytes = self.x_train[0].numel() * self.x_train.element_size()
        self.pregather = self.n_seeds * self.n_train * row_bytes <= PREGATHER_BYTES
        # the gathers' destinations, made once: a fresh tensor per gather paid its page
        # faults (a whole epoch's copy of the training set took 3x as long as into a reused
        # buffer)
        rows = self.n_seeds * (self.n_train if self.pregather else self.bs)
        y = data.y_train
        self._xbuf = self.x_train.new_empty((rows, *self.x_train.shape[1:]))
        self._ybuf = y.new_empty((rows, *y.shape[1:]))

    def gather(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        """The training inputs and targets at ``idx`` ``[S, m]``, as ``[S, m, ...]`` views of
        the trainer's buffers (valid until the next gather)."""
        s, m = idx.shape
        flat = idx.reshape(-1)
        x, y = self.x_train, self.data.y_train
        torch.index_select(x, 0, flat, out=self._xbuf[: s * m])
        torch.index_select(y, 0, flat, out=self._ybuf[: s * m])
        return (
            self._xbuf[: s * m].view(s, m, *x.shape[1:]),
            self._ybuf[: s * m].view(s, m, *y.shape[1:]),
        )

    def train_epoch(self, state: TrainState, epoch: int) -> None:
        spec, bs = self.spec, self.bs
        self.opt.set_lr(lr_at(spec, epoch))
        perms = torch.stack([torch.randperm(self.n_train, generator=g) for g in self.gens])
        perms = perms.to(self.device)
        if self.pregather:
            xs, ys = self.gather(perms)
        for k in range(self.steps_per_epoch):
            if self.pregather:
                xb, yb = xs[:, k * bs : (k + 1) * bs], ys[:, k * bs : (k + 1) * bs]
            else:
                xb, yb = self.gather(perms[:, k * bs : (k + 1) * bs])
            loss = self.loss_and_grad(xb, yb)
            if spec.record_steps:  # before the update: the gradient at the step's start
                state.step_loss[epoch - 1, k] = loss.detach()
                state.step_gnorm[epoch - 1, k] = grad_norms(iter(self.grad_views), self.n_seeds)
            self.opt.step()

    def _record_metrics(self, state: TrainState, epoch: int) -> None:
        loss, acc = self._metrics()
        state.eval_loss[epoch] = loss.cpu()
        state.eval_acc[epoch] = acc.cpu()


class CapturedTrainer(Trainer):
    """The capturable step: static device buffers that one training step and one full-set
    evaluation read and write (minibatch indices from a device copy of the epoch's
    permutation and a device offset, the learning rate from a device tensor, records at
    device positions), so that nothing syncs with the host until :meth:`sync`.

    ``graphs``: capture each in a CUDA graph and replay it (CUDA devices only); without,
    the same static-buffer step runs eagerly (what a test compares with the eager loop on
    the CPU).
    """

    LR_ON_DEVICE = True
    HOST_RECORDS = False

    def __init__(self, spec: TrainSpec, data: Data, *, graphs: bool):
        super().__init__(spec, data)
        self.graphs = graphs and self.device.type == "cuda"
        dev, s = self.device, self.n_seeds
        i64 = {"dtype": torch.int64, "device": dev}
        self.perm_buf = torch.zeros((s, self.n_train), **i64)  # the epoch's permutations
        pin = dev.type == "cuda"
        self.perm_host = [
            torch.zeros((s, self.n_train), dtype=torch.int64, pin_memory=pin) for _ in range(2)
        ]
        self.perm_done: list[Any] = [None, None]  # copy-finished events of the host buffers
        self.batch_ar = torch.arange(self.bs, **i64)
        self.offset = torch.zeros(1, **i64)  # first position of the next minibatch
        self.step_pos = torch.zeros(1, **i64)  # row of the next step record
        self.eval_pos = torch.zeros(1, **i64)  # row of the next evaluation record
        self._step = _Replay(self._static_step, self.graphs)
        self._eval = _Replay(self._static_eval, self.graphs)
        self.synced = -1  # last epoch whose records are on the host

    def bind(self, state: TrainState, recorded: int) -> None:
        self.rec_loss = state.step_loss.view(-1, self.n_seeds)
        self.rec_gnorm = state.step_gnorm.view(-1, self.n_seeds)
        # device copies (also on the CPU, so that the CPU test exercises sync())
        self.ev_loss = state.eval_loss.to(self.device, copy=True)
        self.ev_acc = state.eval_acc.to(self.device, copy=True)
        self.synced = recorded

    def train_epoch(self, state: TrainState, epoch: int) -> None:
        """The epoch's permutations into the device buffer (through a pinned host buffer,
        alternating two so that filling one never waits for the other's copy), then one
        replay per step."""
        self.opt.set_lr(lr_at(self.spec, epoch))
        slot = epoch % 2
        if self.perm_done[slot] is not None:
            self.perm_done[slot].synchronize()
        host = self.perm_host[slot]
        for i, g in enumerate(self.gens):
            torch.randperm(self.n_train, generator=g, out=host[i])
        self.perm_buf.copy_(host, non_blocking=True)
        if self.device.type == "cuda":
            self.perm_done[slot] = torch.cuda.Event()
            self.perm_done[slot].record()
        self.offset.zero_()
        if self.spec.record_steps:
            self.step_pos.fill_((epoch - 1) * self.steps_per_epoch)
        for _ in range(self.steps_per_epoch):
            self._step()
            self.opt.n_steps += 1

    def _static_step(self) -> None:
        """One training step on static buffers: capturable (no host reads or writes)."""
        s, bs = self.n_seeds, self.bs
        idx = self.perm_buf.index_select(1, self.batch_ar + self.offset).reshape(-1)
        self.offset.add_(bs)
        xb = self.x_train.index_select(0, idx).view(s, bs, *self.x_train.shape[1:])
        y = self.data.y_train
        yb = y.index_select(0, idx).view(s, bs, *y.shape[1:])
        loss = self.loss_and_grad(xb, yb)
        if self.spec.record_steps:
            assert loss is not None
            self.rec_loss.index_copy_(0, self.step_pos, loss.detach().unsqueeze(0))
            gn = grad_norms(iter(self.grad_views), s)
            self.rec_gnorm.index_copy_(0, self.step_pos, gn.unsqueeze(0))
            self.step_pos.add_(1)
        self.opt.device_step()

    def _record_metrics(self, state: TrainState, epoch: int) -> None:
        """Recorded on the device; read by :meth:`sync`."""
        self.eval_pos.fill_(epoch)
        self._eval()

    def _kept(self, snapshot: Tensor) -> Tensor:
        return snapshot  # on the device until the end (no sync)

    def _static_eval(self) -> None:
        """The metrics written at row ``eval_pos`` of the device records: capturable."""
        loss, acc = self._metrics()
        self.ev_loss.index_copy_(0, self.eval_pos, loss.unsqueeze(0))
        self.ev_acc.index_copy_(0, self.eval_pos, acc.unsqueeze(0))

    def sync(self, state: TrainState, epoch: int) -> list[int]:
        new = list(range(self.synced + 1, epoch + 1))
        if new:
            state.eval_loss[new[0] : epoch + 1] = self.ev_loss[new[0] : epoch + 1].cpu()
            state.eval_acc[new[0] : epoch + 1] = self.ev_acc[new[0] : epoch + 1].cpu()
            self.synced = epoch
        return new


def make_trainer(
    spec: TrainSpec, data: Data, *, graphs: bool = False, static: bool = False
) -> Trainer:
    """The trainer of a job, chosen once: the captured step on a CUDA device with ``graphs``
    (or anywhere with ``static``: the same static-buffer step run eagerly), else the eager
    loop."""
    if static or (graphs and data.x_train.device.type == "cuda"):
        return CapturedTrainer(spec, data, graphs=graphs)
    return EagerTrainer(spec, data)


def train(
    spec: TrainSpec,
    data: Data,
    *,
    checkpoint: str | os.PathLike | None = None,
    graphs: bool = True,
    static: bool = False,
) -> RunResult:
    """Train all seeds of ``spec`` together and return metrics, step records and snapshots.

    With ``checkpoint`` set and ``spec.checkpoint_every > 0`` the full state (parameters,
    optimizer, data-order generators, records so far) is saved every that many epochs, and a
    later call with the same spec resumes from it, giving the same numbers as an
    uninterrupted run. ``graphs``: on a CUDA device, capture the step and the evaluation in
    CUDA graphs (no effect on the CPU); ``static``: run their static-buffer form eagerly.
    """
    t0 = time.perf_counter()
    # set-up
    tr = make_trainer(spec, data, graphs=graphs, static=static)
    fingerprint = _spec_fingerprint(spec, tr.n_train)
    # resume
    state = _resume(tr, checkpoint, fingerprint) if spec.checkpoint_every > 0 else None
    if state is None:
        state = tr.fresh_state()
        tr.bind(state, recorded=-1)
        tr.record(state, 0)
    else:
        tr.bind(state, recorded=state.epoch)
    # epoch loop
    log_every = max(1, spec.epochs // 20)
    te = time.perf_counter()
    progress = Progress(f"{spec.experiment}/{spec.variant} epochs", spec.epochs, start=state.epoch)
    stop = spec.stop
    for epoch in range(state.epoch + 1, spec.epochs + 1):
        tr.train_epoch(state, epoch)
        tr.record(state, epoch)
        state.epoch = epoch
        due = checkpoint is not None and spec.checkpoint_every > 0
        due = due and epoch % spec.checkpoint_every == 0 and epoch < spec.epochs
        read = tr.HOST_RECORDS or stop is not None  # a stop rule reads every epoch's loss
        if epoch % log_every == 0 or epoch == spec.epochs or due or read:
            for e in tr.sync(state, epoch):  # (the host reads records only here)
                tr.check_divergence(state, e)
        if epoch % log_every == 0 or epoch == spec.epochs:
            _log_epoch(spec, state, epoch, time.perf_counter() - te)
            progress.update(epoch, force=True)
            te = time.perf_counter()
        if due:
            assert checkpoint is not None
            _save_checkpoint(checkpoint, fingerprint, tr.checkpoint_state(state))
        halt = stop is not None and epoch < spec.epochs
        tols = {k: float(stop[k]) for k in ("rel_tol", "abs_tol") if halt and k in stop}
        if halt and stalled(state.eval_loss[: epoch + 1, 0], stop["patience"], **tols):
            log.info(
                "%s/%s: the full training loss stopped improving (no seed improved for %d "
                "epochs): stopped after epoch %d of at most %d",
                spec.experiment, spec.variant, stop["patience"], epoch, spec.epochs,
            )  # fmt: skip
            _log_epoch(spec, state, epoch, time.perf_counter() - te)
            break
    # finish
    tr.sync(state, state.epoch)
    if state.epoch < spec.epochs:
        _end_early(tr, state)
    return _finish(tr, state, time.perf_counter() - t0)


def _end_early(tr: Trainer, state: TrainState) -> None:
    """A run its stop rule ended at ``state.epoch``: the records cut there, the final weights
    kept, and the trainer's spec the spec as run (``epochs`` = the epochs trained, the limit
    kept as the stop rule's ``epoch_limit``)."""
    e = state.epoch
    state.eval_loss, state.eval_acc = state.eval_loss[: e + 1], state.eval_acc[: e + 1]
    state.lrs = state.lrs[: e + 1]
    if state.step_loss.shape[0]:
        state.step_loss, state.step_gnorm = state.step_loss[:e], state.step_gnorm[:e]
    if e not in state.snapshots:
        state.snapshots[e] = tr._kept(tr.ens.flat().float())
    stop = {**(tr.spec.stop or {}), "epoch_limit": tr.spec.epochs}
    tr.spec = dataclasses.replace(tr.spec, epochs=e, stop=stop)


def _resume(
    tr: Trainer, checkpoint: str | os.PathLike | None, fingerprint: str
) -> TrainState | None:
    """The saved state of an interrupted run of the same spec, restored into ``tr``."""
    if checkpoint is None or not Path(checkpoint).exists():
        return None
    saved = torch.load(checkpoint, weights_only=True, map_location="cpu")
    if saved.get("fingerprint") != fingerprint:
        log.warning("ignoring checkpoint %s: it belongs to another configuration", checkpoint)
        return None
    state = TrainState.from_dict(saved["state"])
    state.step_loss = state.step_loss.to(tr.device)
    state.step_gnorm = state.step_gnorm.to(tr.device)
    tr.restore(state)
    spec = tr.spec
    log.info(
        "resumed %s/%s from %s at epoch %d", spec.experiment, spec.variant, checkpoint, state.epoch
    )
    return state


def _save_checkpoint(path: str | os.PathLike, fingerprint: str, state: TrainState) -> None:
    with atomic_path(path) as tmp:
        torch.save({"fingerprint": fingerprint, "state": state.to_dict()}, tmp)


def _log_epoch(spec: TrainSpec, state: TrainState, epoch: int, seconds: float) -> None:
    loss = state.eval_loss[epoch, 0].numpy()
    fin = loss[np.isfinite(loss)]
    stats = (fin.mean(), fin.min(), fin.max()) if fin.size else (float("nan"),) * 3
    log.info(
        "%s/%s epoch %d/%d (%.3fs since the last line) full-set train loss over %d seeds: "
        "mean %.4g, min %.4g, max %.4g",
        spec.experiment,
        spec.variant,
        epoch,
        spec.epochs,
        seconds,
        len(spec.seeds),
        *stats,
    )


def _finish(tr: Trainer, state: TrainState, seconds: float) -> RunResult:
    """The run's tables: metrics (epoch, split, seed order), steps, snapshots."""
    spec = tr.spec
    s, e, k = tr.n_seeds, spec.epochs, tr.steps_per_epoch
    seeds = np.asarray(spec.seeds, dtype=np.int64)
    epochs = np.arange(e + 1, dtype=np.int64)
    n_rows = (e + 1) * 2 * s
    epoch_col = np.repeat(epochs, 2 * s)
    div = state.diverged_at.numpy()
    div_epoch = np.tile(np.where(div >= 0, div, np.iinfo(np.int64).max), (e + 1) * 2)
    metrics = pd.DataFrame(
        {
            "seed": np.tile(seeds, (e + 1) * 2),
            "epoch": epoch_col,
            "step": epoch_col * k,
            "split": np.tile(np.repeat(np.array(["train", "test"], dtype=object), s), e + 1),
            "loss": state.eval_loss.numpy().reshape(n_rows),
            "accuracy": state.eval_acc.numpy().reshape(n_rows),
            "lr": np.repeat(state.lrs.numpy(), 2 * s),
            "diverged": epoch_col >= div_epoch,
        }
    )
    if spec.record_steps:
        steps = pd.DataFrame(
            {
                "seed": np.tile(seeds, e * k),
                "epoch": np.repeat(np.arange(1, e + 1, dtype=np.int64), k * s),
                "step": np.repeat(np.arange(1, e * k + 1, dtype=np.int64), s),
                "loss": state.step_loss.cpu().numpy().reshape(-1).astype(np.float64),
                "grad_norm": state.step_gnorm.cpu().numpy().reshape(-1).astype(np.float64),
            }
        )
    else:
        steps = pd.DataFrame(
            {
                "seed": pd.Series(dtype="int64"),
                "epoch": pd.Series(dtype="int64"),
                "step": pd.Series(dtype="int64"),
                "loss": pd.Series(dtype="float64"),
                "grad_norm": pd.Series(dtype="float64"),
            }
        )
    snap_epochs = sorted(state.snapshots)
    snaps = {ep: state.snapshots[ep].cpu() for ep in snap_epochs}
    snapshots = pd.DataFrame(
        {
            "seed": np.repeat(seeds, len(snap_epochs)),
            "epoch": np.tile(np.asarray(snap_epochs, dtype=np.int64), s),
            "weights": [snaps[ep][i].numpy() for i in range(s) for ep in snap_epochs],
        }
    )
    return RunResult(
        spec, metrics, steps, snapshots, tr.ens.layout, tr.ens.layout.n_params, seconds
    )
