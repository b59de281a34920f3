"""Helpers shared by the table builders: reading run files and their metadata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from hw1.io import read_metadata, read_parquet


def run_meta(path: str) -> dict[str, Any]:
    meta = read_metadata(path)
    if "spec" not in meta:
        raise ValueError(f"{path} carries no training metadata; it was not written by hw1")
    return meta


def model_name(spec: Mapping[str, Any]) -> str:
    return spec["variant"].split("-")[-1]


def describe(spec: Mapping[str, Any]) -> str:
    m = spec["model"]
    if m["type"] == "mlp":
        return "mlp " + "-".join(map(str, m["hidden"]))
    return (
        "cnn conv "
        + "-".join(map(str, m["channels"]))
        + (" fc " + "-".join(map(str, m["hidden"])) if m.get("hidden") else "")
    )


def depth(spec: Mapping[str, Any]) -> int:
    """Number of hidden dense layers (mlp) or conv layers (cnn)."""
    m = spec["model"]
    return len(m["hidden"]) if m["type"] == "mlp" else len(m["channels"])


def load_runs(paths: Sequence[str]) -> pd.DataFrame:
    """Concatenate metrics files, adding model, hidden (architecture), params and dataset."""
    frames = []
    for p in paths:
        meta = run_meta(p)
        df = read_parquet(p)
        spec = meta["spec"]
        df["model"] = model_name(spec)
        df["hidden"] = describe(spec)
        df["params"] = int(meta["n_params"])
        df["depth"] = depth(spec)
        df["dataset"] = spec["dataset"]
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def load_weights(path: str) -> tuple[Any, Any, pd.DataFrame]:
    """``(TrainSpec, ParamLayout, rows)`` of a run's weights file; rows have seed, epoch and
    weights (float32 arrays, flat in the layout's order)."""
    from hw1.engine import TrainSpec
    from hw1.models import ParamLayout

    meta = run_meta(path)
    return (
        TrainSpec.from_dict(meta["spec"]),
        ParamLayout.from_json(meta["layout"]),
        read_parquet(path),
    )


def weights_matrix(rows: pd.DataFrame) -> Any:
    """Stack the ``weights`` column into a ``[n_rows, P]`` float32 numpy array."""
    import numpy as np

    return np.stack([np.asarray(w, dtype=np.float32) for w in rows["weights"]])
