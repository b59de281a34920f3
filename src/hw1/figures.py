"""One function per figure: tidy table in, matplotlib figure out (no torch here).

Every figure shows the mean over seeds as a line and the min-max range over seeds as a
band. Runs marked ``diverged`` are never averaged in silently: they are left out of the
mean and drawn as crosses at the epoch where they diverged, and the legend says how many.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hw1.io import atomic_path, read_parquet

DEFAULT_STYLE: dict[str, Any] = {
    "width": 12,
    "height": 4,
    "dpi": 150,
    "font_size": 10,
    "palette": "tab10",
}


def _style(style: Mapping[str, Any] | None) -> dict[str, Any]:
    return {**DEFAULT_STYLE, **(style or {})}


def _colors(style: Mapping[str, Any], n: int) -> list:
    cmap = plt.get_cmap(style["palette"])
    return [cmap(i % cmap.N) for i in range(n)]


def _new(style: Mapping[str, Any], ncols: int) -> tuple[Figure, np.ndarray]:
    plt.rcParams.update({"font.size": style["font_size"]})
    fig, axes = plt.subplots(1, ncols, figsize=(style["width"], style["height"]), squeeze=False)
    return fig, axes[0]


def band(ax, df: pd.DataFrame, x: str, y: str, color, label: str, **kw) -> None:
    """Mean over seeds (line) and min-max over seeds (band) of ``y`` against ``x``.

    Rows flagged ``diverged`` are excluded from mean and band and marked with a cross at
    their first diverged ``x`` (at the top of the axis, since their value is not finite).
    """
    ok = df[~df["diverged"]] if "diverged" in df else df
    g = ok.groupby(x)[y]
    mean, lo, hi = g.mean(), g.min(), g.max()
    ax.plot(mean.index, mean.to_numpy(), color=color, label=label, **kw)
    ax.fill_between(mean.index, lo.to_numpy(), hi.to_numpy(), color=color, alpha=0.2, lw=0)
    if "diverged" in df and df["diverged"].any():
        first = df[df["diverged"]].groupby("seed")[x].min()
        ax.plot(
            first.to_numpy(),
            np.full(len(first), np.nanmax(hi.to_numpy())),
            "x",
            color=color,
            ms=8,
            label=f"{label}: {len(first)} diverged",
        )


def fig_function_loss(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    funcs = list(dict.fromkeys(df["function"]))
    models = list(dict.fromkeys(df.sort_values("params")["model"]))
    fig, axes = _new(style, len(funcs))
    colors = _colors(style, len(models))
    for ax, fn in zip(axes, funcs, strict=True):
        for c, m in zip(colors, models, strict=True):
            sub = df[(df["function"] == fn) & (df["model"] == m)]
            lab = f"{m} ({sub['hidden'].iloc[0]}, {sub['params'].iloc[0]} params)"
            band(ax, sub[sub["split"] == "train"], "epoch", "loss", c, lab + " train")
            band(ax, sub[sub["split"] == "test"], "epoch", "loss", c, "test", ls="--", lw=0.8)
        ax.set_yscale("log")
        ax.set_title(fn)
        ax.set_xlabel("epoch")
        ax.set_ylabel("MSE per sample")
    axes[0].legend(fontsize="small")
    fig.suptitle("Deep vs shallow: loss on 1-D functions (mean and min-max over seeds)")
    fig.tight_layout()
    return fig


def fig_function_fit(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    funcs = list(dict.fromkeys(df["function"]))
    models = list(dict.fromkeys(df.sort_values("params")["model"]))
    fig, axes = _new(style, len(funcs))
    colors = _colors(style, len(models))
    for ax, fn in zip(axes, funcs, strict=True):
        sub = df[df["function"] == fn]
        truth = sub.drop_duplicates("x").sort_values("x")
        ax.plot(truth["x"], truth["y_true"], color="black", lw=2, label="ground truth")
        for c, m in zip(colors, models, strict=True):
            s = sub[sub["model"] == m].assign(diverged=False)
            lab = f"{m} ({s['params'].iloc[0]} params)"
            band(ax, s, "x", "y_pred", c, lab, lw=1.2)
        ax.set_title(fn)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    axes[0].legend(fontsize="small")
    fig.suptitle("Predictions on the test grid after training (mean and min-max over seeds)")
    fig.tight_layout()
    return fig


def fig_mnist_depth(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    models = list(dict.fromkeys(df.sort_values("model")["model"]))
    fig, axes = _new(style, 3)
    colors = _colors(style, len(models))
    panels = [
        ("train", "loss", "training loss"),
        ("train", "accuracy", "training accuracy"),
        ("test", "accuracy", "test accuracy"),
    ]
    for ax, (split, col, title) in zip(axes, panels, strict=True):
        for c, m in zip(colors, models, strict=True):
            sub = df[(df["model"] == m) & (df["split"] == split)]
            lab = f"{m}: {sub['hidden'].iloc[0]} ({sub['params'].iloc[0]:,} params)"
            band(ax, sub, "epoch", col, c, lab, marker="o", ms=3)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        if col == "loss":
            ax.set_yscale("log")
    axes[0].legend(fontsize="small")
    fig.suptitle("MNIST: CNNs of different depth and matched size (full-set metrics)")
    fig.tight_layout()
    return fig


FIGURES: dict[str, Callable[[pd.DataFrame, Mapping[str, Any]], Figure]] = {
    "function_loss": fig_function_loss,
    "function_fit": fig_function_fit,
    "mnist_depth": fig_mnist_depth,
}


def render(
    name: str,
    table: str | os.PathLike,
    png: str | os.PathLike,
    pdf: str | os.PathLike,
    style: Mapping[str, Any] | None = None,
) -> None:
    """Draw figure ``name`` from its table file and save PNG and PDF atomically."""
    if name not in FIGURES:
        raise KeyError(f"no figure {name!r}; known: {sorted(FIGURES)}")
    st = _style(style)
    fig = FIGURES[name](read_parquet(table), st)
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=st["dpi"], format=fmt)
    plt.close(fig)
