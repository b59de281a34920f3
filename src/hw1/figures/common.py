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
from matplotlib import ticker
from matplotlib.figure import Figure

from hw1.datasets import title as dataset_title

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


def dataset_order(df: pd.DataFrame) -> list[str | None]:
    """The data sets of a table in their order (one figure row each); ``[None]`` for a table
    without a ``dataset`` column."""
    return list(dict.fromkeys(df["dataset"])) if "dataset" in df else [None]


def rows_by_dataset(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(title prefix, rows)`` per data set: ``"<data set title>: "`` and its rows, or
    ``""`` and the whole table when it has no data sets."""
    return [
        (f"{dataset_title(ds)}: " if ds is not None else "", df[df["dataset"] == ds] if ds else df)
        for ds in dataset_order(df)
    ]


def new_grid(style: Mapping[str, Any], nrows: int, ncols: int) -> tuple[Figure, np.ndarray]:
    """A figure of ``nrows`` rows (one per data set; ``height`` is per row) of ``ncols``
    panels; axes as a 2-D array."""
    plt.rcParams.update({"font.size": style["font_size"]})
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(style["width"], style["height"] * nrows), squeeze=False
    )
    return fig, axes


# a log y axis spanning at most this many decades also labels its 2x and 5x ticks: with
# only powers of ten labelled, a panel spanning one decade shows a single label
MINOR_LABEL_DECADES = 2.0


def label_log_minor_ticks(ax) -> None:
    """Label the 2× and 5× ticks of a log y axis (as decimals) when it spans at most
    :data:`MINOR_LABEL_DECADES` decades; call once the axis holds its data."""
    lo, hi = ax.get_ylim()
    if lo <= 0 or np.log10(hi / lo) > MINOR_LABEL_DECADES:
        return
    ax.yaxis.set_minor_locator(ticker.LogLocator(base=10, subs=(2.0, 5.0)))
    ax.yaxis.set_minor_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.tick_params(axis="y", which="minor", labelsize="small")


def band(ax, df: pd.DataFrame, x: str, y: str, color, label: str, **kw) -> None:
    """Mean over seeds (line) and min-max over seeds (band) of ``y`` against ``x``.

    A run that diverged at any point (``diverged`` true in any of its rows) is left out of
    mean and band altogether, so the averaged population never changes along the curve;
    its finite part is drawn as a thin dotted line ending in a cross where it diverged.
    Along epochs or steps a run is one seed; along any other ``x`` (parameter count, batch
    size) each ``x`` holds its own runs, so a run is a (seed, x) pair.
    """
    keys = ["seed"] if x in ("epoch", "step") else ["seed", x]
    if "diverged" in df and df["diverged"].astype(bool).any():
        run_id = df[keys].astype(str).agg("/".join, axis=1)
        bad = set(run_id[df["diverged"].astype(bool)])
        is_bad = run_id.isin(bad)
    else:
        run_id, bad, is_bad = None, set(), pd.Series(False, index=df.index)
    ok = df[~is_bad]
    if len(ok):
        g = ok.groupby(x)[y]
        mean, lo, hi = g.mean(), g.min(), g.max()
        ax.plot(mean.index, mean.to_numpy(), color=color, label=label, **kw)
        ax.fill_between(mean.index, lo.to_numpy(), hi.to_numpy(), color=color, alpha=0.2, lw=0)
    for i, rid in enumerate(sorted(bad)):
        run = df[run_id == rid].sort_values(x)
        fine = run[~run["diverged"].astype(bool) & np.isfinite(run[y].to_numpy())]
        ax.plot(fine[x], fine[y], ls=":", lw=0.8, color=color)
        first = run.loc[run["diverged"].astype(bool), x].min()
        y_mark = fine[y].iloc[-1] if len(fine) else np.nanmax(ok[y]) if len(ok) else 1.0
        ax.plot(
            [first],
            [y_mark],
            "x",
            color=color,
            ms=8,
            label=f"{label}: {len(bad)} diverged" if i == 0 else None,
        )
