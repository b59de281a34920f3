"""Report summaries of the Part 1-1 figures (deep vs shallow): each turns its figure's table and
the config into a :class:`~hw1.summaries.common.FigureSummary`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hw1.summaries.common import (
    DatasetFindings,
    FigureSummary,
    count_noun,
    data_lines,
    final_rows,
    fmt,
    in_depth_order,
    models_line,
    per_dataset,
    seed_note,
    seed_stats,
    training_lines,
)


def _depth_loss_numbers(df: pd.DataFrame, by: list[str]) -> tuple[pd.DataFrame, int]:
    fin, dropped = final_rows(df, [*by, "split"])
    stats = []
    for split in ("train", "test"):
        s = fin[fin["split"] == split]
        stats.append(seed_stats(s, [*by, "depth", "params"], ["loss"], [f"final {split} loss"]))
    out = stats[0].merge(stats[1], on=[*by, "depth", "params"], how="left", sort=False)
    return out, dropped


def _best_per_function(
    nums: pd.DataFrame, col: str
) -> list[tuple[str, pd.Series, pd.Series, float]]:
    """Per function: its name, the model lowest and highest in ``col``, and their ratio."""
    out = []
    for fn, g in nums.groupby("function", sort=False):
        best, worst = g.loc[g[col].idxmin()], g.loc[g[col].idxmax()]
        out.append((fn, best, worst, worst[col] / best[col]))
    return out


def _function_settings(df: pd.DataFrame, config: Mapping[str, Any], last: str) -> list[str]:
    """The settings lines of a function-fit figure: models, data, training, then ``last``."""
    return [
        models_line(df, "model", "hidden", "params"),
        *data_lines(config, "functions"),
        *training_lines(config, "functions"),
        last,
    ]


def summarize_function_loss(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Final train/test MSE per function and model; which depth fit best by what factor."""
    df = in_depth_order(table)
    nums, dropped = _depth_loss_numbers(df, ["function", "model"])
    parts = [
        f"{fn}: {best['model']} ({count_noun(int(best['depth']), 'hidden layer')}, "
        f"{fmt(best['final train loss'])}, {fmt(ratio)}× below {worst['model']})"
        for fn, best, worst, ratio in _best_per_function(nums, "final train loss")
    ]
    obs = "Lowest final training loss (mean over seeds) per function: " + "; ".join(parts) + "."
    settings = _function_settings(
        df, config, "loss: per-sample mean squared error on the full training and test grids"
    )
    return FigureSummary.of("function_loss", settings, nums, obs, seed_note(table, dropped))


def summarize_function_fit(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Test-grid MSE of each model's final prediction; which model fits each function best."""
    df = in_depth_order(table).assign(sq=lambda d: (d["y_pred"] - d["y_true"]) ** 2)
    per_seed = df.groupby(["function", "model", "depth", "params", "seed"], sort=False)["sq"]
    mse = per_seed.mean().reset_index()
    mse["max_abs"] = np.sqrt(per_seed.max().to_numpy())
    nums = seed_stats(
        mse,
        ["function", "model", "depth", "params"],
        ["sq", "max_abs"],
        ["test-grid MSE", "max abs error"],
    )
    parts = [
        f"{fn}: {best['model']} (MSE {fmt(best['test-grid MSE'])}, "
        f"{fmt(ratio)}× below {worst['model']})"
        for fn, best, worst, ratio in _best_per_function(nums, "test-grid MSE")
    ]
    obs = "Closest fit to the ground truth on the test grid per function: " + "; ".join(parts) + "."
    settings = _function_settings(
        df, config, "prediction: final weights of every seed on the test grid (the midpoints)"
    )
    return FigureSummary.of(
        "function_fit",
        settings,
        nums,
        obs,
        seed_note(table) + "; max abs error: the largest absolute error on the grid",
    )


def _cnn_depth_one(table: pd.DataFrame) -> DatasetFindings:
    """Numbers, observation and findings of one data set's CNN-depth runs."""
    df = in_depth_order(table)
    fin, _ = final_rows(df, ["model", "split"])
    keys = ["model", "depth", "params"]
    parts = []
    for split in ("train", "test"):
        s = fin[fin["split"] == split]
        parts.append(
            seed_stats(
                s, keys, ["loss", "accuracy"], [f"final {split} loss", f"final {split} accuracy"]
            )
        )
    nums = parts[0].merge(parts[1], on=keys, sort=False)
    best = nums.loc[nums["final train loss"].idxmin()]
    worst = nums.loc[nums["final train loss"].idxmax()]
    top = nums.loc[nums["final test accuracy"].idxmax()]
    epochs = int(table["epoch"].max())
    obs = (
        f"after {epochs} epochs, {best['model']} ({count_noun(int(best['depth']), 'conv layer')}) "
        f"reached the lowest final training loss, {fmt(best['final train loss'])}, "
        f"{fmt(worst['final train loss'] / best['final train loss'])}× below {worst['model']} "
        f"({fmt(worst['final train loss'])}), and {top['model']} the highest test accuracy, "
        f"{fmt(top['final test accuracy'])}."
    )
    deepest = int(nums["depth"].max())
    return DatasetFindings(
        nums,
        obs,
        {
            "the deepest CNN reached the lowest mean final training loss": int(best["depth"])
            == deepest,
            "the deepest CNN reached the highest mean final test accuracy": int(top["depth"])
            == deepest,
        },
    )


def summarize_cnn_depth(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Final loss/accuracy per CNN and data set; lowest training loss by depth and best test
    accuracy, and what holds on every data set."""
    dropped = final_rows(table, ["dataset", "model", "split"])[1] if "dataset" in table else 0
    nums, obs = per_dataset(table, _cnn_depth_one)
    first = table[table["dataset"] == table["dataset"].iloc[0]] if "dataset" in table else table
    settings = [
        models_line(in_depth_order(first), "model", "hidden", "params"),
        *data_lines(config, "cnn_depth"),
        *training_lines(config, "cnn_depth"),
        "metrics: cross-entropy and accuracy on the full training and test sets",
    ]
    return FigureSummary.of(
        "cnn_depth", settings, nums, obs[0].upper() + obs[1:], seed_note(table, dropped)
    )
