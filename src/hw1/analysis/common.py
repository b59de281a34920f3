"""What the analyses share: a run's weights file read into torch-side objects (all its
snapshots, the final ones, or the trajectories in a fixed order)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from hw1.models import ParamLayout
from hw1.runs import read_weights, weights_matrix
from hw1.trainspec import TrainSpec


def load_weights(path: str | os.PathLike) -> tuple[TrainSpec, ParamLayout, pd.DataFrame]:
    """``(TrainSpec, ParamLayout, rows)`` of a run's weights file; rows have seed, epoch and
    weights (float32 arrays, flat in the layout's order)."""
    spec, layout, rows = read_weights(path)
    return TrainSpec.from_dict(spec), ParamLayout.from_json(layout), rows


def final_weights(path: str | os.PathLike) -> tuple[TrainSpec, ParamLayout, pd.DataFrame]:
    """Spec, layout and the final-epoch weight rows (one per seed, seed order) of a run."""
    spec, layout, rows = load_weights(str(path))
    final = rows[rows["epoch"] == spec.epochs].sort_values("seed", kind="stable")
    if final.empty:
        raise ValueError(f"{path} holds no snapshot of the final epoch {spec.epochs}")
    return spec, layout, final.reset_index(drop=True)


def trajectory_weights(
    path: str | os.PathLike,
) -> tuple[TrainSpec, ParamLayout, pd.DataFrame, np.ndarray]:
    """Spec, layout, the snapshot rows sorted by (seed, epoch), and their ``[n, P]`` matrix.

    The row order is fixed here so that every PCA fitted on a run's snapshots (the
    ``pca_trajectories`` table, the PCA panel of ``error_surface``) sees the same matrix.
    """
    spec, layout, rows = load_weights(str(path))
    rows = rows.sort_values(["seed", "epoch"], kind="stable").reset_index(drop=True)
    return spec, layout, rows, weights_matrix(rows)
