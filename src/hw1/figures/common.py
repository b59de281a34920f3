"""Shared figure style and drawing helpers (matplotlib only; no torch).

Every figure shows the mean over seeds as a line and the min-max range over seeds as a
band. Runs marked ``diverged`` are never averaged in silently: they are left out of the
mean and drawn as crosses where they diverged, and the legend says how many.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

DEFAULT_STYLE: dict[str, Any] = {
    "width": 12,
    "height": 4,
    "dpi": 150,
    "font_size": 10,
    "palette": "tab10",
}


def full_style(style: Mapping[str, Any] | None) -> dict[str, Any]:
    return {**DEFAULT_STYLE, **(style or {})}


def colors(style: Mapping[str, Any], n: int) -> list:
    cmap = plt.get_cmap(style["palette"])
    return [cmap(i % cmap.N) for i in range(n)]


def new_figure(style: Mapping[str, Any], ncols: int) -> tuple[Figure, np.ndarray]:
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
