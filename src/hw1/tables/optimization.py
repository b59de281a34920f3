"""Part 1-2 tables: optimisation trajectories, gradient norms, minimal ratio, error surface.

``pca_trajectories`` and ``grad_norm`` are built here from the run files; ``minimal_ratio``
and ``error_surface`` come from their analysis jobs
(:mod:`hw1.jobs.optimization`) and are checked and passed through, keeping the
settings stored in the table's ``attrs`` for the figure to state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hw1.analysis.columns import ERROR_SURFACE_COLUMNS, MINIMAL_RATIO_COLUMNS
from hw1.datasets import title
from hw1.io import read_parquet
from hw1.runs import describe, run_meta

PCA_COLUMNS = [
    "run",
    "epoch",
    "part",
    "pc1",
    "pc2",
    "loss",
    "accuracy",
    "evr1",
    "evr2",
    "n_params",
]
GRAD_NORM_COLUMNS = [
    "case",
    "dataset",
    "model",
    "n_params",
    "batch_size",
    "seed",
    "epoch",
    "step",
    "loss",
    "grad_norm",
]


def _one(inputs: Mapping[str, list[str]], key: str, table: str) -> str:
    files = list(inputs[key])
    if len(files) != 1:
        raise ValueError(f"table {table} needs exactly one {key} file, got {files}")
    return files[0]


def table_pca_trajectories(
    inputs: Mapping[str, list[str]], params: Mapping[str, Any]
) -> pd.DataFrame:
    """2-D PCA coordinates of every weight snapshot of every run, for two parts.

    ``part='whole'``: PCA fitted on all parameters; ``part='layer1'``: fitted on the first
    layer's columns only. Each part's plane is fitted on all runs and snapshot epochs
    together. ``loss``/``accuracy`` are the full-training-set metrics at that epoch;
    ``evr1``/``evr2`` are the part's explained-variance ratios, ``n_params`` its columns.
    """
    # torch here only (through the analyses; measured ~2.2 s of import per table job)
    from hw1.analysis.common import trajectory_weights
    from hw1.analysis.pca import first_layer_columns, pca_trajectories

    spec, layout, rows, w = trajectory_weights(_one(inputs, "weights", "pca_trajectories"))
    parts = {"whole": slice(0, layout.n_params), "layer1": first_layer_columns(layout)}
    df, evr = pca_trajectories(w, rows["seed"].to_numpy(), rows["epoch"].to_numpy(), layout, parts)
    for name, cols in parts.items():
        sel = df["part"] == name
        df.loc[sel, "evr1"], df.loc[sel, "evr2"] = evr[name]
        df.loc[sel, "n_params"] = cols.stop - cols.start
    df["n_params"] = df["n_params"].astype("int64")

    m = read_parquet(_one(inputs, "metrics", "pca_trajectories"))
    m = m[m["split"] == "train"][["seed", "epoch", "loss", "accuracy"]]
    df = df.merge(m.rename(columns={"seed": "run"}), on=["run", "epoch"], how="left")
    if df["loss"].isna().any():
        raise ValueError("some weight snapshots have no training metrics at their epoch")
    df.attrs = {
        "dataset": title(spec.dataset),
        "model": describe(spec.to_dict()),
        "n_params": int(layout.n_params),
        "layer1": layout.layers()[0],
        "epochs": int(spec.epochs),
    }
    return df[PCA_COLUMNS]


def table_grad_norm(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Minibatch training loss and ‖∇θL‖₂ at every iteration of every case (variant) and
    seed, exactly as recorded in the runs' ``steps.parquet``."""
    frames = []
    for path in inputs["steps"]:
        meta = run_meta(path)
        spec = meta["spec"]
        steps = read_parquet(path)
        if steps.empty:
            raise ValueError(
                f"{path} holds no iterations: set record_steps: true for "
                f"experiments.{spec['experiment']}"
            )
        steps.insert(0, "case", spec["variant"])
        steps.insert(1, "dataset", spec["dataset"])
        steps.insert(2, "model", describe(spec))
        steps.insert(3, "n_params", int(meta["n_params"]))
        steps.insert(4, "batch_size", int(spec["batch_size"]))
        frames.append(steps)
    df = pd.concat(frames, ignore_index=True)
    return df[GRAD_NORM_COLUMNS]


def _passthrough(inputs: Mapping[str, list[str]], name: str, columns: list[str]) -> pd.DataFrame:
    path = _one(inputs, "analysis", name)
    df = read_parquet(path)
    missing = [c for c in columns if c not in df]
    if missing:
        raise ValueError(f"{path} lacks columns {missing}; rerun its analysis rule")
    return df


def table_minimal_ratio(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """One row per phase-1 run (converged or not) after phase 2 (``½‖∇L‖²`` minimisation):
    loss, gradient norm, minimal ratio and the eigenvalue counts of the exact Hessian."""
    df = _passthrough(inputs, "minimal_ratio", MINIMAL_RATIO_COLUMNS)
    if not np.isfinite(df["minimal_ratio"]).all():
        raise ValueError("minimal_ratio has non-finite values")
    return df


def table_error_surface(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Loss surfaces (random directions, PCA plane) and trajectory points, tidy."""
    return _passthrough(inputs, "error_surface", ERROR_SURFACE_COLUMNS)
