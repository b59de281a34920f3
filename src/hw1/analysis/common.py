"""What the analyses share: a run's weights file read into torch-side objects."""

from __future__ import annotations

import os

import pandas as pd

from hw1.models import ParamLayout
from hw1.runs import read_weights
from hw1.trainspec import TrainSpec


def load_weights(path: str | os.PathLike) -> tuple[TrainSpec, ParamLayout, pd.DataFrame]:
    """``(TrainSpec, ParamLayout, rows)`` of a run's weights file; rows have seed, epoch and
    weights (float32 arrays, flat in the layout's order)."""
    spec, layout, rows = read_weights(path)
    return TrainSpec.from_dict(spec), ParamLayout.from_json(layout), rows
