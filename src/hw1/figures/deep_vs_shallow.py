"""Part 1-1 figures: deep vs shallow on functions and on image data sets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from hw1.figures.common import (
    band,
    colors,
    label_log_minor_ticks,
    new_figure,
    new_grid,
    rows_by_dataset,
)


def fig_function_loss(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    funcs = list(dict.fromkeys(df["function"]))
    models = list(dict.fromkeys(df.sort_values("depth", kind="stable")["model"]))
    fig, axes = new_figure(style, len(funcs))
    cols = colors(style, len(models))
    for ax, fn in zip(axes, funcs, strict=True):
        for c, m in zip(cols, models, strict=True):
            sub = df[(df["function"] == fn) & (df["model"] == m)]
            lab = f"{m} ({sub['hidden'].iloc[0]}, {sub['params'].iloc[0]} params)"
            band(ax, sub[sub["split"] == "train"], "epoch", "loss", c, lab)
            band(ax, sub[sub["split"] == "test"], "epoch", "loss", c, "_test", ls="--", lw=0.8)
        ax.set_yscale("log")
        ax.set_title(fn)
        ax.set_xlabel("epoch")
        ax.set_ylabel("MSE per sample")
    axes[0].legend(fontsize="small")
    fig.suptitle(
        "Deep vs shallow on 1-D functions: training loss (solid) and test loss (dashed), "
        "mean and min-max over seeds"
    )
    fig.tight_layout()
    return fig


def median_seed(df: pd.DataFrame) -> int:
    """The seed whose test-grid MSE is the median of the seeds' (the lower middle one for an
    even count); ``df`` holds one model's rows of the function_fit table."""
    mse = df.assign(sq=(df["y_pred"] - df["y_true"]) ** 2).groupby("seed")["sq"].mean()
    order = mse.sort_values(kind="stable")
    return int(order.index[(len(order) - 1) // 2])


def fig_function_fit(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    """Each seed's own prediction (never an average of predictions, which no network makes):
    the seed with the median test-grid MSE drawn bold, the other seeds thin."""
    funcs = list(dict.fromkeys(df["function"]))
    models = list(dict.fromkeys(df.sort_values("depth", kind="stable")["model"]))
    fig, axes = new_figure(style, len(funcs))
    cols = colors(style, len(models))
    for ax, fn in zip(axes, funcs, strict=True):
        sub = df[df["function"] == fn]
        truth = sub.drop_duplicates("x").sort_values("x")
        ax.plot(truth["x"], truth["y_true"], color="black", lw=2, label="ground truth")
        for c, m in zip(cols, models, strict=True):
            s = sub[sub["model"] == m]
            mid = median_seed(s)
            for seed, run in s.groupby("seed", sort=True):
                run = run.sort_values("x")
                if seed == mid:
                    lab = f"{m} ({s['params'].iloc[0]} params), seed {seed}"
                    ax.plot(run["x"], run["y_pred"], color=c, lw=1.6, label=lab, zorder=3)
                else:
                    ax.plot(run["x"], run["y_pred"], color=c, lw=0.7, alpha=0.45)
        ax.set_title(fn)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    axes[0].legend(fontsize="small")
    fig.suptitle(
        "Predictions on the test grid after training: each seed's own network (bold: the seed "
        "with the median test-grid MSE; thin: the other seeds)"
    )
    fig.tight_layout()
    return fig


def fig_cnn_depth(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    """Training loss, training error and test error (1 − accuracy) per epoch of each CNN, one
    row per data set, all on log axes: the 1–2% differences between the depths are the
    result, and on a linear accuracy axis near 100% they are a line's width. An error of
    exactly 0 (every example right) has no place on a log axis and is not drawn. A fourth
    panel per row zooms on the final test error of each model (%, mean and min-max over
    seeds), where the curves' last points sit close together."""
    df = df.assign(error=(1.0 - df["accuracy"]).where(df["accuracy"] < 1.0))
    rows = rows_by_dataset(df)
    fig, grid = new_grid(style, len(rows), 4)
    panels = [
        ("train", "loss", "training loss"),
        ("train", "error", "training error (1 − accuracy)"),
        ("test", "error", "test error (1 − accuracy)"),
    ]
    for axes, (prefix, sub_df) in zip(grid, rows, strict=True):
        models = list(dict.fromkeys(sub_df.sort_values("depth", kind="stable")["model"]))
        cols = colors(style, len(models))
        for ax, (split, col, title) in zip(axes[:3], panels, strict=True):
            for c, m in zip(cols, models, strict=True):
                sub = sub_df[(sub_df["model"] == m) & (sub_df["split"] == split)]
                lab = f"{m}: {sub['hidden'].iloc[0]} ({sub['params'].iloc[0]:,} params)"
                band(ax, sub, "epoch", col, c, lab, marker="o", ms=3)
            ax.set_title(prefix + title)
            ax.set_xlabel("epoch")
            ax.set_yscale("log")
            label_log_minor_ticks(ax)
        _final_test_error(axes[3], sub_df, models, cols, prefix)
        axes[0].legend(fontsize="small")
    fig.suptitle(
        "CNNs of different depth and matched size (full-set metrics, log axes; right: the "
        "final test error, linear)"
    )
    fig.tight_layout()
    return fig


def _final_test_error(ax, df: pd.DataFrame, models: list[str], cols: list, prefix: str) -> None:
    """Each model's test error at its last epoch, in %: mean (point) and min-max over seeds
    (bar), on a linear axis fitted to these values alone."""
    test = df[df["split"] == "test"]
    last = test[test["epoch"] == test["epoch"].max()]
    for i, (c, m) in enumerate(zip(cols, models, strict=True)):
        err = 100 * last.loc[last["model"] == m, "error"].fillna(0.0).to_numpy(float)
        mean = float(err.mean())
        ax.errorbar(
            [i], [mean], yerr=[[mean - err.min()], [err.max() - mean]],
            fmt="o", color=c, capsize=4,
        )  # fmt: skip
        ax.annotate(f"{mean:.2f}", (i, mean), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize="small")  # fmt: skip
    ax.set_xticks(range(len(models)), models)
    ax.set_xlim(-0.5, len(models) - 0.5)
    ax.set_title(f"{prefix}final test error (%)")
    ax.set_xlabel(f"model (epoch {int(test['epoch'].max())}; bars: min-max over seeds)")
