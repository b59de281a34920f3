"""Stacked-seed training on device-resident tensors.

All seeds of one variant train together: their parameters are stacked along a leading
seed dimension (``torch.func.stack_module_state``) and the loss of every seed is computed
in one ``vmap``-ed ``functional_call``. Adam and SGD act elementwise, so one optimizer over
the stacked tensors updates each seed exactly as its own optimizer would; the summed loss
gives each seed's slice its own gradient. Minibatches are index slices of a per-seed,
per-epoch permutation of the device-resident training set, all of one static shape
(the last incomplete batch of an epoch is dropped), so the step can be CUDA-graph captured.

Metrics are evaluated on the FULL training and test sets after every epoch (epoch 0 is
the initialisation), never as running averages of minibatch losses.
"""

from __future__ import annotations

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
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import stack_module_state

from hw1.models import ModelSpec, ParamLayout, build_model, flatten, unflatten

log = logging.getLogger("hw1.engine")


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite and the experiment asked to stop on divergence."""


@dataclass(frozen=True)
class TrainSpec:
    """Everything that determines one training job (one experiment variant, all its seeds)."""

    experiment: str
    variant: str
    dataset: str
    model: Mapping[str, Any]
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    lr_schedule: Mapping[str, Any] = field(default_factory=lambda: {"type": "constant"})
    batch_size: int = 128
    epochs: int = 10
    seeds: tuple[int, ...] = (0,)
    labels: str = "true"
    snapshot_epochs: tuple[int, ...] = ()
    record_steps: bool = False
    on_divergence: str = "stop"
    checkpoint_every: int = 0
    eval_batch_size: int = 10000

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> TrainSpec:
        known = set(TrainSpec.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training keys {sorted(unknown)}; allowed: {sorted(known)}")
        kw = dict(d)
        kw["seeds"] = tuple(int(s) for s in kw.get("seeds", (0,)))
        kw["snapshot_epochs"] = tuple(int(e) for e in kw.get("snapshot_epochs", ()))
        return TrainSpec(**kw)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seeds"], d["snapshot_epochs"] = list(self.seeds), list(self.snapshot_epochs)
        d["model"], d["lr_schedule"] = dict(self.model), dict(self.lr_schedule)
        return d

    @property
    def task(self) -> str:
        return "classification" if self.dataset == "mnist" else "regression"


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
    metrics: pd.DataFrame
    steps: pd.DataFrame
    snapshots: pd.DataFrame
    layout: ParamLayout
    n_params: int
    seconds: float


def data_seed(seed: int) -> int:
    """Seed of the minibatch order of run ``seed`` (independent of the init stream)."""
    return int.from_bytes(hashlib.sha256(f"hw1-data-order-{seed}".encode()).digest()[:7], "big")


def init_model(spec: ModelSpec, seed: int) -> nn.Module:
    """Network initialised from ``seed`` alone (CPU generator, so identical on any device).

    Runs with the same seed and architecture start from the same weights, which makes
    comparisons across batch sizes or learning rates controlled.
    """
    with torch.random.fork_rng(devices=[]):
        # the CPU generator only: torch.manual_seed would also queue a lazy CUDA seeding
        torch.random.default_generator.manual_seed(seed)
        return build_model(spec)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "device: cuda was asked for but torch sees no CUDA device; use cpu or auto"
        )
    return torch.device(device)


def n_outputs(spec: TrainSpec) -> int:
    return 10 if spec.task == "classification" else 1


def model_spec(spec: TrainSpec, input_shape: tuple[int, ...]) -> ModelSpec:
    return ModelSpec.from_dict(spec.model, input_shape, n_outputs(spec))


class StackedEnsemble:
    """The seeds of one variant as stacked parameters ``[S, ...]`` and a stacked forward.

    The forward pass runs all seeds at once with batched kernels: ``baddbmm`` for linear
    layers and grouped convolutions (``groups = S``) for conv layers, which on a CPU is
    several times faster than ``vmap`` over ``functional_call``. Parameter names and the
    flat layout are those of :func:`hw1.models.build_model`, so every analysis rebuilds the
    same network from a snapshot; a test checks the stacked forward against each seed's
    own ``nn.Module``.
    """

    def __init__(self, mspec: ModelSpec, seeds: tuple[int, ...], device: torch.device):
        models = [init_model(mspec, s) for s in seeds]
        self.template = models[0]
        self.layout = ParamLayout.of(models[0])
        params, buffers = stack_module_state(models)
        if buffers:
            raise ValueError("stacked training supports parameter-only layers (no BatchNorm)")
        self.params = {k: v.detach().to(device).requires_grad_() for k, v in params.items()}
        self.n_seeds = len(seeds)

    @classmethod
    def from_flat(cls, mspec: ModelSpec, thetas: Tensor) -> StackedEnsemble:
        """An ensemble whose members are the rows of ``thetas`` ``[S, P]`` (e.g. snapshots,
        or points along an interpolation path), for stacked evaluation."""
        obj = cls.__new__(cls)
        obj.template = build_model(mspec)
        obj.layout = ParamLayout.of(obj.template)
        obj.params = {k: v.contiguous() for k, v in unflatten(thetas, obj.layout).items()}
        obj.n_seeds = thetas.shape[0]
        return obj

    def forward(self, x: Tensor, shared_input: bool) -> Tensor:
        """Outputs ``[S, B, C]``; ``x`` is ``[B, ...]`` (shared by all seeds) or ``[S, B, ...]``."""
        s = self.n_seeds
        p = self.params
        # h is either "seed-major" [S, B, F] (dense part) or "grouped" [B, S*C, H, W] (conv part)
        h = x
        grouped = False
        flat_pending = shared_input  # input not yet given a seed dimension
        for name, mod in self.template.named_children():
            if isinstance(mod, nn.Conv2d):
                w = p[f"{name}.weight"]
                o = w.shape[1]
                if flat_pending:
                    h = F.conv2d(
                        h,
                        w.reshape(s * o, *w.shape[2:]),
                        p[f"{name}.bias"].reshape(-1),
                        padding=mod.padding,
                    )
                    flat_pending = False
                else:
                    if not grouped:
                        h = h.transpose(0, 1).reshape(h.shape[1], -1, *h.shape[3:])
                    h = F.conv2d(
                        h,
                        w.reshape(s * o, *w.shape[2:]),
                        p[f"{name}.bias"].reshape(-1),
                        padding=mod.padding,
                        groups=s,
                    )
                grouped = True
            elif isinstance(mod, nn.Linear):
                w, b = p[f"{name}.weight"], p[f"{name}.bias"]
                if flat_pending:  # one GEMM for all seeds: [B, in] x [in, S*out]
                    x2 = h.reshape(h.shape[0], -1)
                    o = w.shape[1]
                    h = (x2 @ w.reshape(s * o, -1).T).view(x2.shape[0], s, o).transpose(0, 1)
                    h = h + b.unsqueeze(1)
                    flat_pending = False
                else:
                    h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            elif isinstance(mod, nn.Flatten):
                if grouped:
                    h = h.reshape(h.shape[0], s, -1).transpose(0, 1)
                    grouped = False
                elif not flat_pending:
                    h = h.reshape(s, h.shape[1], -1)
            else:  # activations and pooling act per channel / elementwise
                h = mod(h)
        return h

    def flat(self) -> Tensor:
        return flatten({k: v.detach() for k, v in self.params.items()}, self.layout)


def _criterion(task: str, reduction: str) -> nn.Module:
    return (
        nn.CrossEntropyLoss(reduction=reduction)
        if task == "classification"
        else nn.MSELoss(reduction=reduction)
    )


def _per_seed_loss(task: str, out: Tensor, y: Tensor) -> Tensor:
    """Mean loss per seed: ``out`` ``[S, B, C]``, ``y`` ``[S, B]`` or ``[S, B, 1]``."""
    s, b = out.shape[:2]
    crit = _criterion(task, "none")
    if task == "classification":
        return crit(out.reshape(s * b, -1), y.reshape(s * b)).view(s, b).mean(1)
    return crit(out, y).reshape(s, -1).mean(1)


@torch.no_grad()
def evaluate(
    ens: StackedEnsemble, task: str, x: Tensor, y: Tensor, chunk: int
) -> tuple[Tensor, Tensor]:
    """Full-set mean loss and accuracy per seed (``[S]`` each; accuracy NaN for regression).

    For regression the loss is the per-sample MSE (mean over examples of the squared error).
    """
    n = x.shape[0]
    loss = torch.zeros(ens.n_seeds, dtype=torch.float64, device=x.device)
    correct = torch.zeros(ens.n_seeds, dtype=torch.float64, device=x.device)
    for start in range(0, n, chunk):
        xc, yc = x[start : start + chunk], y[start : start + chunk]
        out = ens.forward(xc, shared_input=True)  # [S, c, C]
        yy = yc.unsqueeze(0).expand(ens.n_seeds, *yc.shape)
        loss += _per_seed_loss(task, out, yy).double() * xc.shape[0]
        if task == "classification":
            correct += (out.argmax(-1) == yc.unsqueeze(0)).sum(1).double()
    acc = correct / n if task == "classification" else torch.full_like(loss, float("nan"))
    return loss / n, acc


def evaluate_flat(
    spec: TrainSpec, thetas: Tensor, x: Tensor, y: Tensor, chunk: int = 10000
) -> tuple[Tensor, Tensor]:
    """Full-set mean loss and accuracy of each parameter vector (row of ``thetas``) of the
    network of ``spec``; all rows are evaluated together as one stacked ensemble."""
    mspec = model_spec(spec, tuple(x.shape[1:]))
    ens = StackedEnsemble.from_flat(mspec, thetas.to(x.device, torch.float32))
    return evaluate(ens, spec.task, x, y, chunk)


def _make_optimizer(spec: TrainSpec, params: list[Tensor]) -> torch.optim.Optimizer:
    if spec.optimizer == "adam":
        return torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay)
    if spec.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
        )
    raise ValueError(f"unknown optimizer {spec.optimizer!r}; allowed: ['adam', 'sgd']")


def _make_scheduler(spec: TrainSpec, opt: torch.optim.Optimizer):
    sch = dict(spec.lr_schedule)
    kind = sch.get("type", "constant")
    if kind == "constant":
        return None
    if kind == "step":
        return torch.optim.lr_scheduler.StepLR(
            opt, step_size=int(sch["step_size"]), gamma=float(sch.get("gamma", 0.1))
        )
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=spec.epochs, eta_min=float(sch.get("min_lr", 0.0))
        )
    raise ValueError(f"unknown lr_schedule type {kind!r}; allowed: constant, step, cosine")


def _spec_fingerprint(spec: TrainSpec, n_train: int) -> str:
    return hashlib.sha256(repr((spec.to_dict(), n_train)).encode()).hexdigest()


def train(spec: TrainSpec, data: Data, *, checkpoint: str | os.PathLike | None = None) -> RunResult:
    """Train all seeds of ``spec`` together and return metrics, step records and snapshots.

    With ``checkpoint`` set and ``spec.checkpoint_every > 0`` the full state (parameters,
    optimizer, scheduler, data-order generators, records so far) is saved every that many
    epochs, and a later call with the same spec resumes from it, giving the same numbers
    as an uninterrupted run.
    """
    t0 = time.perf_counter()
    device = data.x_train.device
    n_train = data.x_train.shape[0]
    bs = spec.batch_size
    if bs > n_train:
        raise ValueError(
            f"batch_size {bs} exceeds the training set ({n_train} examples) of "
            f"{spec.experiment}/{spec.variant}; lower it"
        )
    steps_per_epoch = n_train // bs
    mspec = model_spec(spec, data.input_shape)
    ens = StackedEnsemble(mspec, spec.seeds, device)
    plist = list(ens.params.values())
    opt = _make_optimizer(spec, plist)
    sched = _make_scheduler(spec, opt)
    gens = [torch.Generator().manual_seed(data_seed(s)) for s in spec.seeds]
    diverged = torch.zeros(len(spec.seeds), dtype=torch.bool)
    rows: list[dict] = []
    step_chunks: list[pd.DataFrame] = []
    snaps: list[pd.DataFrame] = []
    snapshot_epochs = set(spec.snapshot_epochs) | {spec.epochs}
    start_epoch = 1
    fingerprint = _spec_fingerprint(spec, n_train)

    def record(epoch: int, global_step: int) -> None:
        lr_now = opt.param_groups[0]["lr"]
        for split, x, y in (
            ("train", data.x_train, data.y_train),
            ("test", data.x_test, data.y_test),
        ):
            loss, acc = evaluate(ens, spec.task, x, y, spec.eval_batch_size)
            loss, acc = loss.cpu().numpy(), acc.cpu().numpy()
            for i, s in enumerate(spec.seeds):
                rows.append(
                    {
                        "seed": s,
                        "epoch": epoch,
                        "step": global_step,
                        "split": split,
                        "loss": float(loss[i]),
                        "accuracy": float(acc[i]),
                        "lr": lr_now,
                    }
                )
        if epoch in snapshot_epochs:
            flat = ens.flat().float().cpu().numpy()
            snaps.append(
                pd.DataFrame(
                    {"seed": list(spec.seeds), "epoch": epoch, "weights": [row for row in flat]}
                )
            )

    if checkpoint is not None and spec.checkpoint_every > 0 and Path(checkpoint).exists():
        state = torch.load(checkpoint, weights_only=True, map_location=device)
        if state.get("fingerprint") == fingerprint:
            with torch.no_grad():
                for k, v in state["params"].items():
                    ens.params[k].copy_(v)
            opt.load_state_dict(state["optimizer"])
            if sched is not None:
                sched.load_state_dict(state["scheduler"])
            for g, st in zip(gens, state["generators"], strict=True):
                g.set_state(st)
            diverged = state["diverged"].clone()
            rows = list(state["rows"])
            step_chunks = [pd.DataFrame(c) for c in state["step_chunks"]]
            snaps = [
                pd.DataFrame(
                    {"seed": c["seed"], "epoch": c["epoch"], "weights": list(c["weights"].numpy())}
                )
                for c in state["snaps"]
            ]
            start_epoch = int(state["epoch"]) + 1
            log.info(
                "resumed %s/%s from %s at epoch %d",
                spec.experiment,
                spec.variant,
                checkpoint,
                start_epoch - 1,
            )
        else:
            log.warning("ignoring checkpoint %s: it belongs to another configuration", checkpoint)
    if start_epoch == 1:
        record(0, 0)

    step_loss = torch.zeros(steps_per_epoch, len(spec.seeds), device=device)
    step_gnorm = torch.zeros_like(step_loss)
    for epoch in range(start_epoch, spec.epochs + 1):
        te = time.perf_counter()
        perms = torch.stack([torch.randperm(n_train, generator=g) for g in gens]).to(device)
        for k in range(steps_per_epoch):
            idx = perms[:, k * bs : (k + 1) * bs]  # [S, B]
            out = ens.forward(data.x_train[idx], shared_input=False)
            losses = _per_seed_loss(spec.task, out, data.y_train[idx])
            opt.zero_grad(set_to_none=False)
            losses.sum().backward()
            if spec.record_steps:
                with torch.no_grad():
                    sq = sum(p.grad.pow(2).flatten(1).sum(1) for p in plist)
                    step_gnorm[k] = sq.sqrt()
                    step_loss[k] = losses.detach()
            opt.step()
        if sched is not None:
            sched.step()
        global_step = epoch * steps_per_epoch
        if spec.record_steps:
            sl, sg = step_loss.cpu().numpy(), step_gnorm.cpu().numpy()
            step_chunks.append(
                pd.DataFrame(
                    {
                        "seed": np.tile(spec.seeds, steps_per_epoch),
                        "epoch": epoch,
                        "step": np.repeat(
                            np.arange(1, steps_per_epoch + 1) + (epoch - 1) * steps_per_epoch,
                            len(spec.seeds),
                        ),
                        "loss": sl.reshape(-1).astype(np.float64),
                        "grad_norm": sg.reshape(-1).astype(np.float64),
                    }
                )
            )
        record(epoch, global_step)
        _check_divergence(spec, rows[-2 * len(spec.seeds) :], diverged, epoch)
        train_loss = np.array([r["loss"] for r in rows[-2 * len(spec.seeds) :][: len(spec.seeds)]])
        log.info(
            "%s/%s epoch %d/%d %.2fs full-set train loss over %d seeds: mean %.4g, min %.4g, "
            "max %.4g",
            spec.experiment,
            spec.variant,
            epoch,
            spec.epochs,
            time.perf_counter() - te,
            len(spec.seeds),
            np.nanmean(train_loss) if np.isfinite(train_loss).any() else float("nan"),
            np.nanmin(train_loss) if np.isfinite(train_loss).any() else float("nan"),
            np.nanmax(train_loss) if np.isfinite(train_loss).any() else float("nan"),
        )
        if (
            checkpoint is not None
            and spec.checkpoint_every > 0
            and epoch % spec.checkpoint_every == 0
            and epoch < spec.epochs
        ):
            _save_checkpoint(
                checkpoint,
                fingerprint,
                epoch,
                ens,
                opt,
                sched,
                gens,
                diverged,
                rows,
                step_chunks,
                snaps,
            )

    metrics = pd.DataFrame(rows)
    div_epoch = _first_divergence(metrics)
    metrics["diverged"] = [
        bool(s in div_epoch and e >= div_epoch[s])
        for s, e in zip(metrics["seed"], metrics["epoch"], strict=True)
    ]
    steps = (
        pd.concat(step_chunks, ignore_index=True)
        if step_chunks
        else pd.DataFrame(
            {
                "seed": pd.Series(dtype="int64"),
                "epoch": pd.Series(dtype="int64"),
                "step": pd.Series(dtype="int64"),
                "loss": pd.Series(dtype="float64"),
                "grad_norm": pd.Series(dtype="float64"),
            }
        )
    )
    snapshots = pd.concat(snaps, ignore_index=True).sort_values(["seed", "epoch"], kind="stable")
    return RunResult(
        metrics,
        steps,
        snapshots.reset_index(drop=True),
        ens.layout,
        ens.layout.n_params,
        time.perf_counter() - t0,
    )


def _first_divergence(metrics: pd.DataFrame) -> dict[int, int]:
    bad = metrics[~np.isfinite(metrics["loss"].to_numpy())]
    return bad.groupby("seed")["epoch"].min().to_dict() if len(bad) else {}


def _check_divergence(spec: TrainSpec, last_rows: list[dict], diverged: Tensor, epoch: int) -> None:
    for i, s in enumerate(spec.seeds):
        row = last_rows[i]  # train split rows come first
        if not math.isfinite(row["loss"]) and not bool(diverged[i]):
            diverged[i] = True
            msg = (
                f"training diverged: experiment {spec.experiment}, variant {spec.variant}, "
                f"seed {s}, learning rate {spec.lr} ({spec.optimizer}), epoch {epoch}: full "
                f"training loss is {row['loss']}"
            )
            if spec.on_divergence == "stop":
                raise TrainingDiverged(
                    msg + ". Lower the learning rate, or set on_divergence: "
                    "record for this experiment to keep the run marked as diverged."
                )
            log.warning("%s; kept and marked diverged (on_divergence: record)", msg)


def _save_checkpoint(
    path, fingerprint, epoch, ens, opt, sched, gens, diverged, rows, step_chunks, snaps
) -> None:
    from hw1.io import atomic_path

    state = {
        "fingerprint": fingerprint,
        "epoch": epoch,
        "params": {k: v.detach() for k, v in ens.params.items()},
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict() if sched is not None else {},
        "generators": [g.get_state() for g in gens],
        "diverged": diverged,
        "rows": rows,
        "step_chunks": [c.to_dict(orient="list") for c in step_chunks],
        "snaps": [
            {
                "seed": c["seed"].tolist(),
                "epoch": c["epoch"].tolist(),
                "weights": torch.from_numpy(np.stack(c["weights"].to_list())),
            }
            for c in snaps
        ],
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
