"""One function per figure: tidy table in, matplotlib figure out (no torch import).

Every ``part*`` module exports ``FIGURES`` (name -> drawing function); :func:`render`
dispatches by name and writes PNG and PDF atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from hw1.figures.common import full_style, plt
from hw1.io import atomic_path, read_parquet
from hw1.parts import collect

Drawer = Callable[[pd.DataFrame, Mapping[str, Any]], Any]


def registry() -> dict[str, Drawer]:
    """All figure functions of the ``part*`` modules."""
    return collect(__name__, __path__, "FIGURES")


def render(
    name: str,
    table: str | os.PathLike,
    png: str | os.PathLike,
    pdf: str | os.PathLike,
    style: Mapping[str, Any] | None = None,
) -> None:
    """Draw figure ``name`` from its table file and save PNG and PDF atomically."""
    figures = registry()
    if name not in figures:
        raise KeyError(f"no figure {name!r}; known: {sorted(figures)}")
    st = full_style(style)
    fig = figures[name](read_parquet(table), st)
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=st["dpi"], format=fmt)
    plt.close(fig)
