"""One function per figure: tidy table in, matplotlib figure out (no torch import).

The catalogue (:mod:`hw1.catalogue`) names each figure's drawing function; :func:`render`
looks it up by figure name and writes PNG and PDF atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from hw1.catalogue import figure
from hw1.figures.common import full_style, plt
from hw1.io import atomic_path, read_parquet

Drawer = Callable[[pd.DataFrame, Mapping[str, Any]], Any]


def render(
    name: str,
    table: str | os.PathLike,
    png: str | os.PathLike,
    pdf: str | os.PathLike,
    style: Mapping[str, Any] | None = None,
) -> None:
    """Draw figure ``name`` from its table file and save PNG and PDF atomically."""
    draw: Drawer = figure(name).plot_fn()
    st = full_style(style)
    fig = draw(read_parquet(table), st)
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=st["dpi"], format=fmt)
    plt.close(fig)
