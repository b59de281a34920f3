"""The run-file format: the three Parquet files of a training job and their metadata.

``results/runs/<experiment>/<variant>/`` holds ``metrics.parquet`` (full-set loss and
accuracy per seed, epoch and split), ``steps.parquet`` (per-iteration minibatch loss and
gradient norm, when recorded) and ``weights.parquet`` (flat weight snapshots per seed and
epoch). Each carries the ``hw1`` metadata ``{"spec": <resolved training spec>, "n_params":
<per seed>}``; the weights file adds ``"layout"`` (parameter names and shapes, the flat
order). Written by :func:`write_run_files` (the training job) and read only through this
module. Torch-free: analyses, tables and tests all read runs the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hw1.datasets import base_variant
from hw1.io import read_metadata, read_parquet, write_parquet
from hw1.schema import lr_schedule

RUN_FILES = ("metrics", "steps", "weights")


def write_run_files(
    spec: Mapping[str, Any],
    n_params: int,
    layout: Mapping[str, Any],
    metrics: pd.DataFrame,
    steps: pd.DataFrame,
    snapshots: pd.DataFrame,
    paths: Mapping[str, str | os.PathLike],
) -> None:
    """Write the three files of one training job (``paths``: metrics, steps, weights).
    ``metrics`` gets the experiment and variant as its first columns."""
    meta = {"spec": dict(spec), "n_params": int(n_params)}
    m = metrics.copy()
    m.insert(0, "experiment", spec["experiment"])
    m.insert(1, "variant", spec["variant"])
    write_parquet(steps, paths["steps"], metadata=meta)
    write_parquet(snapshots, paths["weights"], metadata={**meta, "layout": dict(layout)})
    write_parquet(m, paths["metrics"], metadata=meta)


def read_weights(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any], pd.DataFrame]:
    """``(spec, layout, rows)`` of a weights file; rows have seed, epoch and weights (float32
    arrays, flat in the layout's order)."""
    meta = run_meta(str(path))
    if "layout" not in meta:
        raise ValueError(f"{path} has no parameter layout; is it a weights.parquet of a run?")
    return meta["spec"], meta["layout"], read_parquet(path)


def run_meta(path: str) -> dict[str, Any]:
    meta = read_metadata(path)
    if "spec" not in meta:
        raise ValueError(f"{path} carries no training metadata; it was not written by hw1")
    return meta


def model_name(spec: Mapping[str, Any]) -> str:
    """The variant's own name, without the data (set or function) it was trained on."""
    return base_variant(spec["variant"], spec["dataset"])


def describe(spec: Mapping[str, Any]) -> str:
    """The network of a spec in the tables' short form ('mlp 128-128', 'cnn conv 8-16 fc 30')."""
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


def weights_matrix(rows: pd.DataFrame) -> np.ndarray:
    """Stack the ``weights`` column into a ``[n_rows, P]`` float32 numpy array."""
    return np.stack([np.asarray(w, dtype=np.float32) for w in rows["weights"]])


def schedule_text(spec: Mapping[str, Any]) -> str:
    """'Adam lr 0.0001, constant' / '... cosine to 0 over 100 epochs' / '... x0.1 every 50'."""
    sch = lr_schedule(spec.get("lr_schedule"))
    head = f"{spec['optimizer'].capitalize()} lr {spec['lr']:g}"
    kind = sch["type"]
    if kind == "cosine":
        return f"{head}, cosine to {sch['min_lr']:g} over {spec['epochs']} epochs"
    if kind == "step":
        return f"{head}, x{sch['gamma']:g} every {sch['step_size']} epochs"
    return f"{head}, constant"


def first_epoch_reaching(df: pd.DataFrame, target: float) -> int | None:
    """First epoch at which the mean over seeds of the training accuracy reaches ``target``
    (``df``: metrics rows of one run; None if never)."""
    tr = df[df["split"] == "train"].groupby("epoch")["accuracy"].mean()
    hit = tr[tr >= target - 1e-12]
    return int(hit.index.min()) if len(hit) else None


def schedule_phrase(schedule: Mapping[str, Any] | None, number: Callable[[float], str]) -> str:
    """The learning-rate schedule in the report's words ('lr cosine-annealed to 0'), its
    numbers written by ``number``; :func:`schedule_text` is the figures' short form."""
    sch = lr_schedule(schedule)
    kind = sch["type"]
    if kind == "constant":
        return "constant lr"
    if kind == "cosine":
        return f"lr cosine-annealed to {number(float(sch['min_lr']))}"
    if kind == "step":
        return f"lr ×{number(float(sch['gamma']))} every {sch['step_size']} epochs"
    return f"lr schedule {kind}"


def model_phrase(model: Mapping[str, Any]) -> str:
    """The network in the report's words ('MLP hidden 128-128 (relu)'); :func:`describe` is
    the tables' short form."""
    hidden = "-".join(str(h) for h in model.get("hidden", [])) or "none"
    if model.get("type") == "cnn":
        chans = "-".join(str(c) for c in model.get("channels", []))
        return f"CNN conv {chans}, dense {hidden}"
    act = model.get("activation")
    return f"MLP hidden {hidden}" + (f" ({act})" if act else "")


def sort_by_dataset(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Rows by data set (in order of first appearance: the config's order) and then ``keys``."""
    order = {d: i for i, d in enumerate(dict.fromkeys(df["dataset"]))}
    return (
        df.assign(_dataset_order=df["dataset"].map(order))
        .sort_values(["_dataset_order", *keys], ignore_index=True)
        .drop(columns="_dataset_order")
    )
