"""Columns of the analysis files (``results/analysis/<name>.parquet``) that the figure tables
pass on unchanged; torch-free, so that the table jobs that check them import no torch
(measured: importing torch costs ~2.2 s per job on the 2-core machine)."""

from __future__ import annotations

# minimal_ratio_table (hessian): one row per run
HESSIAN_COLUMNS = [
    "run",
    "loss",
    "grad_norm",
    "minimal_ratio",
    "ratio_nonzero",
    "n_positive",
    "n_negative",
    "n_near_zero",
    "n_params",
    "tol",
    "converged",
    "steps",
    "eigenvalues",
]
# the minimal_ratio analysis: the Hessian columns plus where phase 1 left each run
MINIMAL_RATIO_COLUMNS = [*HESSIAN_COLUMNS, "loss_phase1", "grad_norm_phase1"]
# the error_surface analysis: one row per grid point or trajectory point of each panel
ERROR_SURFACE_COLUMNS = ["panel", "kind", "a", "b", "loss", "accuracy", "run", "epoch"]
# the generalization_measures analysis: the measures of every model, in the table's and the
# figure's order (beside its gaps, loss_gap and accuracy_gap)
MEASURES = ("sensitivity", "sharpness", "top_eigenvalue", "param_norm", "params")
