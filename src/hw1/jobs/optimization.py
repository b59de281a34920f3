"""Part 1-2 jobs that read trained runs: phase 2 of the minimal-ratio experiment and the
loss landscape around a trained image-classification network (Li et al. 2018).

The heavy numerical work lives in :mod:`hw1.analysis.hessian`, :mod:`hw1.analysis.pca`
and :mod:`hw1.analysis.landscape`; this module connects them to the run files
(``weights.parquet``, ``metrics.parquet``) and to the data of the run, and writes one
Parquet file per job whose pandas ``attrs`` carry the settings the figure states.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from hw1 import datasets
from hw1.analysis.columns import ERROR_SURFACE_COLUMNS, MINIMAL_RATIO_COLUMNS
from hw1.analysis.common import final_weights, trajectory_weights
from hw1.analysis.hessian import minimal_ratio_table, stacked_grad_norm_gradient
from hw1.analysis.landscape import filter_normalized_direction
from hw1.analysis.pca import fit_pca_plane
from hw1.engine import evaluate_flat, model_spec, resolve_device
from hw1.io import read_metadata, read_parquet
from hw1.jobs.train import load_data
from hw1.models import ParamLayout, build_model, flat_loss_fn, flatten, unflatten
from hw1.runlog import Progress
from hw1.runs import describe, weights_matrix
from hw1.schema import model_with_defaults
from hw1.stacked import StackedEnsemble, per_seed_loss
from hw1.trainspec import TrainSpec

log = logging.getLogger("hw1.jobs.optimization")


# ----------------------------------------------------------------------------- shared helpers


def function_train_grid64(path: str | os.PathLike) -> tuple[Tensor, Tensor]:
    """The training grid of a 1-D function file as float64 ``[N, 1]`` inputs and targets
    (read from the Parquet file directly, never through float32)."""
    df = read_parquet(path)
    tr = df[df["split"] == "train"]
    if tr.empty:
        raise ValueError(f"{path} has no training rows; rerun its rule")
    x = torch.tensor(tr["x"].to_numpy(np.float64)).unsqueeze(1)
    y = torch.tensor(tr["y"].to_numpy(np.float64)).unsqueeze(1)
    return x, y


def float64_loss_fn(spec: TrainSpec):
    """``f(theta, x, y)``: the full-batch training loss of ``spec``'s network in float64
    (MSE for regression, as in training; cross-entropy for classification)."""
    shape = datasets.input_shape(spec.dataset)
    net = build_model(model_spec(spec, shape)).double()
    crit = nn.MSELoss() if spec.task == "regression" else nn.CrossEntropyLoss()
    return flat_loss_fn(net, crit)


def stacked_float64_loss_fn(spec: TrainSpec):
    """``f(thetas [R, P], x, y) -> [R]``: every run's full-batch training loss at once, in
    float64, through one stacked forward (differentiable in ``thetas``)."""
    shape = datasets.input_shape(spec.dataset)
    mspec = model_spec(spec, shape)
    layout = ParamLayout.of(build_model(mspec))
    template = StackedEnsemble.from_flat(mspec, torch.zeros(1, layout.n_params))

    def f(thetas: Tensor, x: Tensor, y: Tensor) -> Tensor:
        out = template.forward(x, shared_input=True, params=unflatten(thetas, layout))
        yy = y.unsqueeze(0).expand(thetas.shape[0], *y.shape)
        return per_seed_loss(spec.task, out, yy)

    return f


# ----------------------------------------------------------------------------- minimal ratio


def minimal_ratio_runs(
    spec: TrainSpec,
    thetas: np.ndarray | Tensor,
    runs: list[int],
    x: Tensor,
    y: Tensor,
    *,
    threshold: float,
    max_steps: int,
    lr: float,
    optimizer: str,
    momentum: float,
    tol: float,
    rtol: float,
    max_params: int,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Phase 2 and Hessian spectrum of every run (rows of ``thetas``), nothing dropped.

    Adds the float64 full-batch loss and gradient norm at the phase-1 weights
    (``loss_phase1``, ``grad_norm_phase1``) to the columns of
    :func:`hw1.analysis.hessian.minimal_ratio_table`; ``attrs`` record the settings.
    """

    if spec.task != "regression":
        raise ValueError(
            f"minimal ratio needs a regression run (1-D function), got dataset {spec.dataset!r}"
        )
    dev = torch.device(device)
    th = torch.as_tensor(np.asarray(thetas), dtype=torch.float64).to(dev)
    n_params = th.shape[1]
    if n_params > max_params:
        raise ValueError(
            f"the network has {n_params} parameters, more than minimal_ratio.max_params "
            f"{max_params}: the exact Hessian would be too costly; use a smaller model"
        )
    x64, y64 = x.to(dev, torch.float64), y.to(dev, torch.float64)
    f = float64_loss_fn(spec)
    _, loss1, gnorm1 = stacked_grad_norm_gradient(stacked_float64_loss_fn(spec), th, x64, y64)
    log.info(
        "phase 1 end: %d runs, %d params, float64 loss median %.3g, grad norm median %.3g",
        th.shape[0],
        n_params,
        float(loss1.median()),
        float(gnorm1.median()),
    )
    df = minimal_ratio_table(
        f,
        th,
        x64,
        y64,
        threshold=threshold,
        max_steps=max_steps,
        lr=lr,
        tol=tol,
        rtol=rtol,
        runs=runs,
        optimizer=optimizer,
        momentum=momentum,
        batched_loss=stacked_float64_loss_fn(spec),
    )
    df["loss_phase1"] = loss1.cpu().numpy()
    df["grad_norm_phase1"] = gnorm1.cpu().numpy()
    df.attrs = {
        "threshold": float(threshold),
        "max_steps": int(max_steps),
        "lr": float(lr),
        "optimizer": optimizer,
        "tol": float(tol),
        "rtol": float(rtol),
        "model": describe(spec.to_dict()),
        "activation": str(model_with_defaults(spec.model)["activation"]),
        "dataset": spec.dataset,
        "n_train": int(x.shape[0]),
        "n_runs": len(df),
        "n_converged": int(df["converged"].sum()),
    }
    log.info(
        "phase 2: %d of %d runs reached ||grad L|| < %g",
        df.attrs["n_converged"],
        len(df),
        threshold,
    )
    return df[MINIMAL_RATIO_COLUMNS]


def one_run(inputs: Mapping[str, list[str]], kind: str = "weights") -> str:
    """The one file of ``kind`` of an analysis that reads a single run (its experiment has
    exactly one variant)."""
    files = list(inputs[kind])
    if len(files) != 1:
        raise ValueError(f"this analysis reads the files of one run, got {kind} {files}")
    return files[0]


def minimal_ratio_job(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Phase 2 + Hessians of every final phase-1 run (``inputs``: weights, function;
    ``params``: the minimal_ratio settings phase2, eigenvalue_tol, eigenvalue_rtol,
    max_params, and device)."""
    weights, function = one_run(inputs), one_run(inputs, "function")
    dev = resolve_device(params["device"])
    spec, _, final = final_weights(weights)
    if read_metadata(function).get("function") != spec.dataset:
        raise ValueError(f"{function} is not the grid of {spec.dataset!r}, the runs' dataset")
    x, y = function_train_grid64(function)
    phase2 = params["phase2"]
    return minimal_ratio_runs(
        spec,
        weights_matrix(final),
        [int(s) for s in final["seed"]],
        x,
        y,
        threshold=float(phase2["threshold"]),
        max_steps=int(phase2["max_steps"]),
        lr=float(phase2["lr"]),
        optimizer=str(phase2["optimizer"]),
        momentum=float(phase2["momentum"]),
        tol=float(params["eigenvalue_tol"]),
        rtol=float(params["eigenvalue_rtol"]),
        max_params=int(params["max_params"]),
        device=dev,
    )


# ----------------------------------------------------------------------------- error surface


def plane_losses(
    spec: TrainSpec,
    center: Tensor,
    d1: Tensor,
    d2: Tensor,
    c1: np.ndarray,
    c2: np.ndarray,
    x: Tensor,
    y: Tensor,
    *,
    points_per_chunk: int,
    examples_per_chunk: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Loss and accuracy ``[len(c1), len(c2)]`` at ``center + a·d1 + b·d2`` on ``(x, y)``.

    Grid points are materialised ``points_per_chunk`` at a time and evaluated together as a
    stacked ensemble (:func:`hw1.engine.evaluate_flat`).
    """
    center, d1, d2 = (t.detach().to(torch.float64).cpu() for t in (center, d1, d2))
    aa, bb = np.meshgrid(np.asarray(c1, np.float64), np.asarray(c2, np.float64), indexing="ij")
    a_flat = torch.from_numpy(aa.reshape(-1))
    b_flat = torch.from_numpy(bb.reshape(-1))
    loss = np.empty(a_flat.numel())
    acc = np.empty(a_flat.numel())
    for start in range(0, a_flat.numel(), points_per_chunk):
        sl = slice(start, start + points_per_chunk)
        pts = center + a_flat[sl, None] * d1 + b_flat[sl, None] * d2
        lo, ac = evaluate_flat(spec, pts, x, y, chunk=examples_per_chunk)
        loss[sl], acc[sl] = lo.cpu().numpy(), ac.cpu().numpy()
    return loss.reshape(aa.shape), acc.reshape(aa.shape)


def random_directions(theta0: Tensor, layout: ParamLayout, seed: int) -> tuple[Tensor, Tensor]:
    """Two filter-normalised random directions (flat, float64) around ``theta0``."""

    gen = torch.Generator().manual_seed(int(seed))
    params = unflatten(theta0.detach().to(torch.float64).cpu(), layout)
    d1 = flatten(filter_normalized_direction(params, gen), layout)
    d2 = flatten(filter_normalized_direction(params, gen), layout)
    return d1, d2


def _surface_rows(panel: str, c1, c2, loss, acc) -> pd.DataFrame:
    aa, bb = np.meshgrid(c1, c2, indexing="ij")
    return pd.DataFrame(
        {
            "panel": panel,
            "kind": "surface",
            "a": aa.reshape(-1),
            "b": bb.reshape(-1),
            "loss": loss.reshape(-1),
            "accuracy": acc.reshape(-1),
            "run": pd.array([pd.NA] * aa.size, dtype="Int64"),
            "epoch": pd.array([pd.NA] * aa.size, dtype="Int64"),
        }
    )


def error_surface_table(
    spec: TrainSpec,
    layout: ParamLayout,
    rows: pd.DataFrame,
    weights: np.ndarray,
    x: Tensor,
    y: Tensor,
    *,
    seed: int,
    direction_seed: int,
    grid: int,
    span: float,
    margin: float,
    pca_grid: int,
    pca_runs: int | None,
    points_per_chunk: int,
    examples_per_chunk: int,
) -> pd.DataFrame:
    """Tidy table of both panels of the ``error_surface`` figure.

    * ``panel='random'``: loss at ``θ* + a·d1 + b·d2`` on a ``grid × grid`` lattice of
      ``[-span, span]²``, where ``θ*`` is run ``seed``'s final weights and ``d1, d2`` are
      filter-normalised random directions (Li et al. 2018; biases not moved).
    * ``panel='run'``: for each run (the first ``pca_runs`` seeds; all by default) the loss
      on the run's OWN trajectory plane (Li et al. 2018, sec. 7): the two principal
      directions of ``θ_i − θ_final`` over its snapshots, centred at its end point, on a
      ``pca_grid × pca_grid`` lattice over the path's bounding box enlarged by ``margin``;
      plus ``kind='trajectory'`` rows: each snapshot's coordinates ``(θ_i − θ_final)·d`` and
      its own loss. The end point lies on the plane at (0, 0); ``attrs['pca_runs']`` give
      each plane's explained variance and the median share of a snapshot's deviation that
      lies off it. (A plane fitted to all runs together, from different initialisations,
      left ~90% of each deviation off the plane, so its contour said little about the paths.)

    ``rows``/``weights`` are the snapshot rows and matrix of :func:`trajectory_weights`.
    """

    kw = {"points_per_chunk": points_per_chunk, "examples_per_chunk": examples_per_chunk}
    final = rows.index[(rows["seed"] == seed) & (rows["epoch"] == spec.epochs)]
    if len(final) != 1:
        raise ValueError(f"no final snapshot (epoch {spec.epochs}) of seed {seed}")
    theta0 = torch.from_numpy(weights[final[0]].astype(np.float64))
    d1, d2 = random_directions(theta0, layout, direction_seed)
    ab = np.linspace(-span, span, grid)
    log.info("random-direction surface: %d points", grid * grid)
    loss_r, acc_r = plane_losses(spec, theta0, d1, d2, ab, ab, x, y, **kw)

    # each run's own plane (Li et al. 2018, sec. 7): PCA of θ_i − θ_final over its snapshots,
    # centred at its end point, so the end point lies on the plane at (0, 0)
    frames = [_surface_rows("random", ab, ab, loss_r, acc_r)]
    chosen = sorted(rows["seed"].unique())
    if pca_runs is not None:
        chosen = chosen[: int(pca_runs)]
    pca_info = []
    progress = Progress("error surface planes (random, then each run's own)", 1 + len(chosen))
    progress.update(1, force=True)
    for run in chosen:
        own = rows[rows["seed"] == run].sort_values("epoch", kind="stable")
        w_run = weights[own.index].astype(np.float64)
        end = w_run[-1]
        dev = w_run - end
        plane = fit_pca_plane(dev[:-1])
        comps = plane.components  # [2, P], orthonormal
        coords = dev @ comps.T  # the end point projects to exactly (0, 0)
        resid = dev - coords @ comps
        norms = np.linalg.norm(dev[:-1], axis=1)
        off = np.linalg.norm(resid[:-1], axis=1) / np.maximum(norms, 1e-300)
        lo, hi = coords.min(0), coords.max(0)
        pad = margin * np.maximum(hi - lo, 1e-12)
        c1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], pca_grid)
        c2 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], pca_grid)
        log.info("run %d: own PCA plane, %d points", run, pca_grid * pca_grid)
        d1, d2 = (torch.from_numpy(comps[k].copy()) for k in range(2))
        loss_p, acc_p = plane_losses(spec, torch.from_numpy(end), d1, d2, c1, c2, x, y, **kw)
        surf = _surface_rows("run", c1, c2, loss_p, acc_p)
        surf["run"] = pd.array([int(run)] * len(surf), dtype="Int64")
        snap_loss, snap_acc = _snapshot_metrics(spec, w_run, x, y, **kw)
        progress.update(2 + chosen.index(run), f"run {run}")
        traj = pd.DataFrame(
            {
                "panel": "run",
                "kind": "trajectory",
                "a": coords[:, 0],
                "b": coords[:, 1],
                "loss": snap_loss,
                "accuracy": snap_acc,
                "run": pd.array([int(run)] * len(own), dtype="Int64"),
                "epoch": pd.array(own["epoch"].to_numpy(np.int64), dtype="Int64"),
            }
        )
        frames += [surf, traj]
        pca_info.append(
            {
                "run": int(run),
                "evr": [float(v) for v in plane.explained_variance_ratio],
                "median_off_plane": float(np.median(off)),
            }
        )
    df = pd.concat(frames, ignore_index=True)[ERROR_SURFACE_COLUMNS]
    df.attrs = {
        "dataset": datasets.title(spec.dataset),
        "model": describe(spec.to_dict()),
        "n_params": int(layout.n_params),
        "center_seed": int(seed),
        "center_epoch": int(spec.epochs),
        "direction_seed": int(direction_seed),
        "span": float(span),
        "grid": int(grid),
        "n_examples": int(x.shape[0]),
        "pca_runs": pca_info,
        "n_runs": int(rows["seed"].nunique()),
    }
    return df


def _snapshot_metrics(
    spec: TrainSpec,
    w: np.ndarray,
    x: Tensor,
    y: Tensor,
    *,
    points_per_chunk: int,
    examples_per_chunk: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each snapshot's own loss and accuracy on ``(x, y)`` (rows of ``w``)."""
    loss, acc = np.empty(len(w)), np.empty(len(w))
    wt = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))
    for start in range(0, len(w), points_per_chunk):
        sl = slice(start, start + points_per_chunk)
        lo, ac = evaluate_flat(spec, wt[sl], x, y, chunk=examples_per_chunk)
        loss[sl], acc[sl] = lo.cpu().numpy(), ac.cpu().numpy()
    return loss, acc


def error_surface_job(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """The error-surface table of one image-classification run (``inputs``: weights, data
    and random_labels where the run trained on them; ``params``: ``surface`` = the config's
    ``error_surface.surface`` block, whose ``n_examples`` caps the training images used,
    data_cfg, device)."""
    dev = resolve_device(params["device"])
    spec, layout, rows, w = trajectory_weights(one_run(inputs))
    data_files = {k: one_run(inputs, k) for k in ("data", "random_labels") if k in inputs}
    data = load_data(spec, data_files, params["data_cfg"], dev)
    surface = params["surface"]
    n = min(int(surface["n_examples"]), data.x_train.shape[0])
    x, y = data.x_train[:n], data.y_train[:n]
    opts = {k: v for k, v in surface.items() if k != "n_examples"}
    return error_surface_table(spec, layout, rows, w, x, y, **opts)
