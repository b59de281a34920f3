"""PCA of weight trajectories (HW1 part 1-2, "visualize the optimization process").

Snapshots of the flat parameter vector of several training runs are stacked into one matrix
``[n_rows, P]``; for each *part* (the whole model, or one layer's columns) a 2-component PCA
is fitted on all rows together — all runs and all snapshot epochs — so that every run is drawn
in the same plane.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from hw1.models import ParamLayout


@dataclass(frozen=True)
class PCAPlane:
    """A fitted 2-D PCA plane of some columns of the weight matrix.

    ``mean`` ``[p]`` and ``components`` ``[2, p]`` (orthonormal rows) are sklearn's
    ``mean_`` and ``components_``; the plane is ``mean + c1·components[0] + c2·components[1]``
    and :meth:`project` gives ``(w - mean) @ components.T``. ``columns`` is the slice of the
    flat parameter vector the plane lives in.
    """

    columns: slice
    mean: np.ndarray
    components: np.ndarray
    explained_variance_ratio: np.ndarray

    def project(self, weights: np.ndarray) -> np.ndarray:
        """Coordinates ``[n, 2]`` of full flat weight rows ``[n, P]`` in this plane."""
        w = np.asarray(weights, dtype=np.float64)[:, self.columns]
        return (w - self.mean) @ self.components.T


def first_layer_columns(layout: ParamLayout) -> slice:
    """Columns of all parameters (weight and bias) of the first module that has parameters."""
    return layout.layer_columns(layout.layers()[0])


def _resolve(columns: slice | None, n_params: int) -> slice:
    if columns is None:
        return slice(0, n_params)
    start, stop, step = columns.indices(n_params)
    if step != 1 or stop <= start:
        raise ValueError(f"part columns must be a non-empty contiguous slice, got {columns}")
    if columns.stop is not None and columns.stop > n_params:
        raise ValueError(f"slice {columns} exceeds the {n_params} parameters")
    return slice(start, stop)


def fit_pca_plane(weights: np.ndarray, columns: slice | None = None) -> PCAPlane:
    """Fit a 2-component PCA on ``weights[:, columns]`` (all columns when ``None``).

    Uses the exact (``full``) SVD in float64, so the fit is deterministic: refitting the same
    matrix gives the same plane, with sklearn's sign convention for the axes.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"weights must be [n_rows, P], got shape {w.shape}")
    cols = _resolve(columns, w.shape[1])
    pca = PCA(n_components=2, svd_solver="full").fit(w[:, cols])
    return PCAPlane(
        columns=cols,
        mean=pca.mean_.copy(),
        components=pca.components_.copy(),
        explained_variance_ratio=pca.explained_variance_ratio_.copy(),
    )


def pca_trajectories(
    weights: np.ndarray,
    runs: np.ndarray,
    epochs: np.ndarray,
    layout: ParamLayout,
    parts: Mapping[str, slice | None],
) -> tuple[pd.DataFrame, dict[str, list[float]]]:
    """Project weight snapshots onto the 2-D PCA plane of each part.

    ``weights`` is ``[n_rows, P]`` with ``runs[i]``/``epochs[i]`` labelling row ``i``;
    ``parts`` maps a name to the columns to analyse (``None`` = the whole model, e.g.
    ``{"whole": None, "layer1": first_layer_columns(layout)}``). Each part's PCA sees only its
    own columns, fitted over all rows at once.

    Returns a tidy table (``run, epoch, part, pc1, pc2``; parts in the given order, rows in
    input order within a part) and ``{part: [evr_pc1, evr_pc2]}`` (explained-variance
    ratios). To draw a loss surface under the whole-model trajectories, refit the plane with
    :func:`fit_pca_plane` (deterministic, identical axes) and pass its ``mean`` and
    ``components`` to :func:`hw1.analysis.landscape.pca_plane_grid`.
    """
    w = np.asarray(weights, dtype=np.float64)
    runs_a, epochs_a = np.asarray(runs), np.asarray(epochs)
    if w.ndim != 2 or w.shape[1] != layout.n_params:
        raise ValueError(f"weights must be [n_rows, {layout.n_params}], got shape {w.shape}")
    if runs_a.shape != (w.shape[0],) or epochs_a.shape != (w.shape[0],):
        raise ValueError("runs and epochs need one entry per weight row")
    frames, evr = [], {}
    for name, columns in parts.items():
        plane = fit_pca_plane(w, columns)
        z = plane.project(w)
        frames.append(
            pd.DataFrame(
                {
                    "run": runs_a.astype(np.int64),
                    "epoch": epochs_a.astype(np.int64),
                    "part": name,
                    "pc1": z[:, 0],
                    "pc2": z[:, 1],
                }
            )
        )
        evr[name] = [float(v) for v in plane.explained_variance_ratio]
    return pd.concat(frames, ignore_index=True), evr
