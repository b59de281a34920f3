"""The report's per-figure summaries, one module per homework part (beside ``tables/`` and
``figures/``); the catalogue (:mod:`hw1.catalogue`) names each figure's summary function.
:func:`summarize` is the one entry point: captions and the report both call it, so the
numbers they print are computed once per figure table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from hw1.catalogue import figure
from hw1.summaries.common import FigureSummary


def summarize(name: str, table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """The summary of figure ``name`` drawn from its table and the config."""
    fn = figure(name).summary_fn()
    if table.empty:
        raise ValueError(f"the table of figure {name!r} is empty")
    return fn(table, config)
