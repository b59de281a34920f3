"""Tidy tables, one per figure, built from run files (one module per homework part).

Each table function returns exactly the data its figure draws, so a figure re-renders
without retraining. Every ``part*`` module exports ``TABLES`` (name -> builder); they are
collected here and :func:`build_table` dispatches by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from hw1.io import write_parquet
from hw1.parts import collect

Builder = Callable[[Mapping[str, list[str]], Mapping[str, Any]], pd.DataFrame]


def registry() -> dict[str, Builder]:
    """All table builders of the ``part*`` modules."""
    return collect(__name__, __path__, "TABLES")


def build_table(
    name: str,
    inputs: Mapping[str, list[str]],
    out: str | os.PathLike,
    params: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Build table ``name`` from ``inputs`` and write it (Parquet) to ``out``."""
    tables = registry()
    if name not in tables:
        raise KeyError(f"no table {name!r}; known: {sorted(tables)}")
    df = tables[name](inputs, params or {})
    write_parquet(df, out, metadata={"figure": name})
    return df
