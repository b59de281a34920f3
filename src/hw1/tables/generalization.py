"""Part 1-3 tables (generalization): random labels, parameter count, interpolation,
sensitivity and sharpness vs batch size; and the parse-time checks of their settings.

The light tables read metrics files only; the interpolation and flatness tables evaluate
trained weights (torch, imported lazily so that plotting jobs stay torch-free).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hw1.analysis.columns import MEASURES
from hw1.io import read_metadata, read_parquet
from hw1.runs import describe, model_name, run_meta, schedule_text, sort_by_dataset


def _final(df: pd.DataFrame, epochs: int) -> pd.DataFrame:
    return df[df["epoch"] == epochs]


def table_random_labels(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Full-set loss and accuracy per epoch of the random-label run and its true-label
    baseline on each data set. Columns: dataset, labels, seed, epoch, split, loss, accuracy,
    lr, diverged, and per run the model, params, batch_size, schedule (text) and
    target_accuracy."""
    frames = []
    for p in inputs["metrics"]:
        meta = run_meta(p)
        spec = meta["spec"]
        df = read_parquet(p)
        df["dataset"] = spec["dataset"]
        df["labels"] = spec["labels"]
        df["model"] = describe(spec)
        df["params"] = int(meta["n_params"])
        df["batch_size"] = int(spec["batch_size"])
        df["schedule"] = schedule_text(spec)
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["target_accuracy"] = float(params["target_accuracy"])
    cols = [
        "dataset",
        "labels",
        "seed",
        "epoch",
        "split",
        "loss",
        "accuracy",
        "lr",
        "diverged",
        "model",
        "params",
        "batch_size",
        "schedule",
        "target_accuracy",
    ]
    return df[cols]


def table_params_vs_generalization(
    inputs: Mapping[str, list[str]], params: Mapping[str, Any]
) -> pd.DataFrame:
    """Final (last-epoch) full-set loss and accuracy of every data set x model x seed x split.
    Columns: dataset, model, hidden, params, seed, split, loss, accuracy, diverged, epochs,
    schedule."""
    frames = []
    for p in inputs["metrics"]:
        meta = run_meta(p)
        spec = meta["spec"]
        df = _final(read_parquet(p), spec["epochs"]).copy()
        df["dataset"] = spec["dataset"]
        df["model"] = model_name(spec)
        df["hidden"] = describe(spec)
        df["params"] = int(meta["n_params"])
        df["epochs"] = int(spec["epochs"])
        df["schedule"] = f"{schedule_text(spec)}, batch {spec['batch_size']}"
        frames.append(df)
    cols = [
        "dataset",
        "model",
        "hidden",
        "params",
        "seed",
        "split",
        "loss",
        "accuracy",
        "diverged",
        "epochs",
        "schedule",
    ]
    return sort_by_dataset(pd.concat(frames, ignore_index=True)[cols], ["params", "seed", "split"])


def table_interpolation(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Loss and accuracy along θ(α) between the two models of every configured pair, as the
    analysis job computed them (:func:`hw1.jobs.generalization.interpolation_job`).
    Columns: dataset, pair, model1, model2, alpha, split, loss, accuracy, seed, epochs,
    label1, label2 (the two models' training settings), model."""
    return read_parquet(inputs["analysis"][0])


def table_flatness(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Final metrics, sensitivity, ε-sharpness and top Hessian eigenvalue per batch size x
    seed x split, as the analysis job computed them
    (:func:`hw1.jobs.generalization.flatness_table`); the sensitivity and sharpness
    figures both draw this table. Adds ``undertrained``: the batch size's final training
    accuracy (mean over seeds) lies more than ``undertrained_margin`` below the best batch
    size's on its data set (that margin is the ``undertrained_margin`` column)."""
    df = read_parquet(inputs["analysis"][0])
    margin = float(params["undertrained_margin"])
    train = df[df["split"] == "train"]
    mean = train.groupby(["dataset", "batch_size"], sort=False)["accuracy"].mean()
    best = mean.groupby(level="dataset").transform("max")
    low = (mean < best - margin).rename("undertrained").reset_index()
    df = df.merge(low, on=["dataset", "batch_size"], how="left", validate="many_to_one")
    df["undertrained_margin"] = margin
    return df


def table_keskar(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Keskar et al.'s protocol: per data set x variant x seed x ε x (method, space) the
    sharpness of the final minimum and the model's final metrics, as the analysis job
    computed them (:func:`hw1.jobs.generalization.keskar_job`), with ``regime``: SB for the
    smaller batch size of its data set, LB for the larger."""
    df = read_parquet(inputs["analysis"][0])
    small = df.groupby("dataset")["batch_size"].transform("min")
    df.insert(2, "regime", np.where(df["batch_size"] == small, "SB", "LB"))
    return df


# the two gaps the measures are ranked against
GAPS = ("loss_gap", "accuracy_gap")


def measure_correlations(models: pd.DataFrame) -> pd.DataFrame:
    """Kendall's τ of every measure with every gap over the models of each data set, with
    its 95% bootstrap interval over models (:func:`hw1.stats.kendall_interval`), and Jiang
    et al.'s granulated coefficient: ψ of each experiment (τ within groups of models of one
    seed, where only the experiment's variant changes, averaged over the groups;
    :func:`hw1.stats.granulated_kendall`) and Ψ, the mean of the experiments' ψ. One row per
    data set x measure x gap x experiment (the τ columns repeat over experiments)."""
    from hw1.stats import granulated_kendall, kendall_interval

    rows = []
    for ds, group in models.groupby("dataset", sort=False):
        for measure in MEASURES:
            for gap in GAPS:
                tau = kendall_interval(group[measure], group[gap])
                psis = {
                    exp: granulated_kendall(g, measure, gap, ["seed"])
                    for exp, g in group.groupby("experiment", sort=False)
                }
                finite = [v for v, _ in psis.values() if np.isfinite(v)]
                for exp, (psi, n_groups) in psis.items():
                    rows.append(
                        {
                            "dataset": ds,
                            "measure": measure,
                            "gap": gap,
                            "experiment": exp,
                            "tau": tau.estimate,
                            "tau_low": tau.low,
                            "tau_high": tau.high,
                            "psi": psi,
                            "psi_groups": n_groups,
                            "Psi": float(np.mean(finite)) if finite else np.nan,
                            "n_models": len(group),
                        }
                    )
    return pd.DataFrame(rows)


def table_generalization_measures(
    inputs: Mapping[str, list[str]], params: Mapping[str, Any]
) -> pd.DataFrame:
    """Every measured model's gaps and measures, long form (one row per data set x model x
    measure: ``measure``, ``value``), with the rank correlations of that measure with each
    gap on its data set (:func:`measure_correlations`): ``tau_<gap>``, its interval
    ``tau_<gap>_low/high``, the experiment's ``psi_<gap>`` and the data set's ``Psi_<gap>``.
    The analysis' settings stay in ``attrs``."""
    models = read_parquet(inputs["analysis"][0])
    corr = measure_correlations(models)
    keys = ["dataset", "measure", "experiment"]
    cols = ["tau", "tau_low", "tau_high", "psi", "psi_groups", "Psi"]
    wide = None
    for gap in GAPS:
        part = corr.loc[corr["gap"] == gap, keys + cols]
        part = part.rename(
            columns={c: f"tau_{gap}{c[3:]}" if c.startswith("tau") else f"{c}_{gap}" for c in cols}
        )
        wide = part if wide is None else wide.merge(part, on=keys, validate="one_to_one")
    ids = [c for c in models.columns if c not in MEASURES]
    long = models.melt(id_vars=ids, value_vars=list(MEASURES), var_name="measure")
    long["value"] = long["value"].astype(float)
    df = long.merge(wide, on=keys, how="left", validate="many_to_one")
    df["n_models"] = df.groupby(["dataset", "measure"])["value"].transform("size")
    meta = read_metadata(inputs["analysis"][0])
    df.attrs = {k: meta[k] for k in ("sensitivity_examples", "sharpness_examples", "eps",
                                     "ascent_steps", "hessian_iters") if k in meta}  # fmt: skip
    return sort_by_dataset(df, ["measure", "experiment", "variant", "seed"])
