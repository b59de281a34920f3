"""Part 1-3 tables (generalization): random labels, parameter count, interpolation,
sensitivity and sharpness vs batch size; and the parse-time checks of their settings.

The light tables read metrics files only; the interpolation and flatness tables evaluate
trained weights (torch, imported lazily so that plotting jobs stay torch-free).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hw1.catalogue import figure
from hw1.config import check_generalization as check_config  # noqa: F401 (re-export)
from hw1.io import read_parquet, write_parquet
from hw1.tables.common import describe, run_meta


def schedule_text(spec: Mapping[str, Any]) -> str:
    """'Adam lr 0.0001, constant' / '... cosine to 0 over 100 epochs' / '... x0.1 every 50'."""
    sch = dict(spec.get("lr_schedule") or {"type": "constant"})
    head = f"{spec['optimizer'].capitalize()} lr {spec['lr']:g}"
    kind = sch.get("type", "constant")
    if kind == "cosine":
        return f"{head}, cosine to {sch.get('min_lr', 0.0):g} over {spec['epochs']} epochs"
    if kind == "step":
        return f"{head}, x{sch.get('gamma', 0.1):g} every {sch['step_size']} epochs"
    return f"{head}, constant"


def _final(df: pd.DataFrame, epochs: int) -> pd.DataFrame:
    return df[df["epoch"] == epochs]


def table_random_labels(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Full-set loss and accuracy per epoch of the random-label run and its true-label
    baseline. Columns: labels, seed, epoch, split, loss, accuracy, lr, diverged, and per run
    the model, params, batch_size, schedule (text) and target_accuracy."""
    frames = []
    for p in inputs["metrics"]:
        meta = run_meta(p)
        spec = meta["spec"]
        df = read_parquet(p)
        df["labels"] = spec["labels"]
        df["model"] = describe(spec)
        df["params"] = int(meta["n_params"])
        df["batch_size"] = int(spec["batch_size"])
        df["schedule"] = schedule_text(spec)
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["target_accuracy"] = float(params.get("target_accuracy", 0.99))
    cols = [
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
    """Final (last-epoch) full-set loss and accuracy of every model x seed x split.
    Columns: model, hidden, params, seed, split, loss, accuracy, diverged, epochs, schedule."""
    frames = []
    for p in inputs["metrics"]:
        meta = run_meta(p)
        spec = meta["spec"]
        df = _final(read_parquet(p), spec["epochs"]).copy()
        df["model"] = spec["variant"]
        df["hidden"] = describe(spec)
        df["params"] = int(meta["n_params"])
        df["epochs"] = int(spec["epochs"])
        df["schedule"] = f"{schedule_text(spec)}, batch {spec['batch_size']}"
        frames.append(df)
    cols = [
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
    return pd.concat(frames, ignore_index=True)[cols].sort_values(
        ["params", "seed", "split"], ignore_index=True
    )


def table_interpolation(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Loss and accuracy along θ(α) between the two models of every configured pair.
    Columns: pair, model1, model2, alpha, split, loss, accuracy, seed, epochs, label1, label2
    (the two models' training settings)."""
    from hw1.analysis.generalization_runs import interpolation_pairs

    df = interpolation_pairs(
        params["pairs"],
        inputs["weights"],
        inputs["mnist"][0],
        params.get("data_cfg") or {},
        seed=int(params.get("seed", 0)),
        alpha=params.get("alpha"),
        alpha_batch=int(params.get("alpha_batch", 8)),
        device=params.get("device", "cpu"),
    )
    labels = {}
    for p in inputs["weights"]:
        spec = run_meta(p)["spec"]
        labels[spec["variant"]] = f"batch {spec['batch_size']}, {schedule_text(spec)}"
    df["label1"] = df["model1"].map(labels)
    df["label2"] = df["model2"].map(labels)
    df["model"] = describe(run_meta(inputs["weights"][0])["spec"])
    return df


def table_flatness(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Final metrics, sensitivity, ε-sharpness and top Hessian eigenvalue per batch size x
    seed x split (see :func:`hw1.analysis.generalization_runs.flatness_table`)."""
    from hw1.analysis.generalization_runs import flatness_table

    return flatness_table(
        inputs["metrics"],
        inputs["weights"],
        inputs["mnist"][0],
        params.get("data_cfg") or {},
        sensitivity=params.get("sensitivity") or {},
        sharpness=params.get("sharpness"),
        device=params.get("device", "cpu"),
    )


def analysis_job(
    name: str,
    inputs: Mapping[str, Sequence[str]],
    outputs: Sequence[str],
    params: Mapping[str, Any],
    threads: int,
) -> pd.DataFrame:
    """A heavy table job: ``threads`` torch threads, table ``name`` built once and written
    to every path of ``outputs`` (the flatness table feeds two figures)."""
    from hw1.runtime import configure

    configure(threads)
    df = figure(name).table_fn()({k: list(v) for k, v in inputs.items()}, params)
    for out in outputs:
        write_parquet(df, out, metadata={"figure": Path(out).stem})
    return df
