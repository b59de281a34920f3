"""Tidy tables, one per figure, built from the training runs' Parquet files.

Each ``table_<figure>`` function returns the exact data its figure draws, so a figure can
be re-rendered (or re-analysed) without retraining. :func:`build_table` dispatches by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hw1.io import read_metadata, read_parquet, write_parquet


def _run_meta(path: str) -> dict[str, Any]:
    meta = read_metadata(path)
    if "spec" not in meta:
        raise ValueError(f"{path} carries no training metadata; it was not written by hw1")
    return meta


def _model_name(spec: Mapping[str, Any]) -> str:
    return spec["variant"].split("-")[-1]


def _describe(spec: Mapping[str, Any]) -> str:
    m = spec["model"]
    if m["type"] == "mlp":
        return "mlp " + "-".join(map(str, m["hidden"]))
    return (
        "cnn conv "
        + "-".join(map(str, m["channels"]))
        + (" fc " + "-".join(map(str, m["hidden"])) if m.get("hidden") else "")
    )


def load_runs(paths: Sequence[str]) -> pd.DataFrame:
    """Concatenate metrics files, adding model, hidden (architecture), params and dataset."""
    frames = []
    for p in paths:
        meta = _run_meta(p)
        df = read_parquet(p)
        spec = meta["spec"]
        df["model"] = _model_name(spec)
        df["hidden"] = _describe(spec)
        df["params"] = int(meta["n_params"])
        df["dataset"] = spec["dataset"]
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def table_function_loss(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Per-sample MSE of every function x model x seed x epoch x split."""
    df = load_runs(inputs["metrics"]).rename(columns={"dataset": "function"})
    cols = ["function", "model", "hidden", "params", "seed", "epoch", "split", "loss", "diverged"]
    return df[cols]


def table_function_fit(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Ground truth and each trained model's prediction on the test grid (final weights)."""
    import torch

    from hw1.engine import TrainSpec, model_spec
    from hw1.models import ParamLayout, build_model, unflatten

    grids = {}
    for p in inputs["functions"]:
        grids[read_metadata(p)["function"]] = read_parquet(p)
    frames = []
    for p in inputs["weights"]:
        meta = _run_meta(p)
        spec = TrainSpec.from_dict(meta["spec"])
        layout = ParamLayout.from_json(meta["layout"])
        grid = grids[spec.dataset]
        test = grid[grid["split"] == "test"]
        x = torch.tensor(test["x"].to_numpy(), dtype=torch.float32).unsqueeze(1)
        w = read_parquet(p)
        final = w[w["epoch"] == spec.epochs]
        net = build_model(model_spec(spec, (1,)))
        for seed, weights in zip(final["seed"], final["weights"], strict=True):
            theta = torch.tensor(np.asarray(weights, dtype=np.float32))
            net.load_state_dict(unflatten(theta, layout))
            with torch.no_grad():
                pred = net(x).squeeze(1).double().numpy()
            frames.append(
                pd.DataFrame(
                    {
                        "function": spec.dataset,
                        "model": _model_name(meta["spec"]),
                        "hidden": _describe(meta["spec"]),
                        "params": int(meta["n_params"]),
                        "seed": int(seed),
                        "x": test["x"].to_numpy(),
                        "y_true": test["y"].to_numpy(),
                        "y_pred": pred,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def table_mnist_depth(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Loss and accuracy per CNN x seed x epoch x split."""
    df = load_runs(inputs["metrics"])
    cols = ["model", "hidden", "params", "seed", "epoch", "split", "loss", "accuracy", "diverged"]
    return df[cols]


TABLES: dict[str, Callable[[Mapping[str, list[str]], Mapping[str, Any]], pd.DataFrame]] = {
    "function_loss": table_function_loss,
    "function_fit": table_function_fit,
    "mnist_depth": table_mnist_depth,
}


def build_table(
    name: str,
    inputs: Mapping[str, list[str]],
    out: str | os.PathLike,
    params: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Build table ``name`` from ``inputs`` and write it (Parquet) to ``out``."""
    if name not in TABLES:
        raise KeyError(f"no table {name!r}; known: {sorted(TABLES)}")
    df = TABLES[name](inputs, params or {})
    write_parquet(df, out, metadata={"figure": name})
    return df
