"""Part 1-1 tables: deep vs shallow on functions and on image data sets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hw1.io import read_metadata, read_parquet
from hw1.runs import depth, describe, load_runs, model_name, run_meta

# what identifies a row of a depth experiment's table (after its data column)
RUN_COLUMNS = ("model", "depth", "hidden", "params", "seed", "epoch", "split")


def table_function_loss(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Per-sample MSE of every function x model x seed x epoch x split."""
    df = load_runs(inputs["metrics"]).rename(columns={"dataset": "function"})
    return df[["function", *RUN_COLUMNS, "loss", "diverged"]]


def table_function_fit(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Ground truth and each trained model's prediction on the test grid (final weights)."""
    # torch here only (measured: importing it costs ~2.2 s, and the other tables need none)
    import torch

    from hw1.engine import model_spec
    from hw1.models import ParamLayout, build_model, unflatten
    from hw1.trainspec import TrainSpec

    grids = {}
    for p in inputs["functions"]:
        grids[read_metadata(p)["function"]] = read_parquet(p)
    frames = []
    for p in inputs["weights"]:
        meta = run_meta(p)
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
                        "model": model_name(meta["spec"]),
                        "depth": depth(meta["spec"]),
                        "hidden": describe(meta["spec"]),
                        "params": int(meta["n_params"]),
                        "seed": int(seed),
                        "x": test["x"].to_numpy(),
                        "y_true": test["y"].to_numpy(),
                        "y_pred": pred,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def table_cnn_depth(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Loss and accuracy per data set x CNN x seed x epoch x split."""
    df = load_runs(inputs["metrics"])
    return df[["dataset", *RUN_COLUMNS, "loss", "accuracy", "diverged"]]
