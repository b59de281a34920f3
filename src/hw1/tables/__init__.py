"""Tidy tables, one per figure, built from run files and analyses (one module per homework
part).

Each table function returns exactly the data its figure draws, so a figure re-renders
without retraining. The catalogue (:mod:`hw1.catalogue`) names each figure's builder;
:func:`build_table` looks it up by figure name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from hw1.catalogue import figure
from hw1.io import write_parquet

Builder = Callable[[Mapping[str, list[str]], Mapping[str, Any]], pd.DataFrame]


def build_table(
    name: str,
    inputs: Mapping[str, list[str]],
    out: str | os.PathLike,
    params: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Build the table of figure ``name`` from ``inputs`` and write it (Parquet) to ``out``."""
    builder: Builder = figure(name).table_fn()
    df = builder(inputs, params or {})
    write_parquet(df, out, metadata={"figure": name})
    return df
