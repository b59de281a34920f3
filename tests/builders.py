"""Shared builders of the tests: training specs and analysis settings, with the schema's
defaults for everything a test does not set (one copy, not one per test file)."""

from __future__ import annotations

import copy
from typing import Any

from hw1.catalogue import analysis
from hw1.config import deep_merge
from hw1.schema import SCHEMA_PATH, load_schema
from hw1.trainspec import TrainSpec

# A small complete training spec: every key the schema gives no default.
BASE_SPEC: dict[str, Any] = {
    "experiment": "t",
    "variant": "v",
    "dataset": "sinc",
    "model": {"type": "mlp", "hidden": [4]},
    "optimizer": "adam",
    "lr": 0.01,
    "batch_size": 10,
    "epochs": 3,
    "seeds": [0, 1, 2],
}


def train_spec(**kw: Any) -> TrainSpec:
    """:data:`BASE_SPEC` with ``kw`` replacing its keys; the rest from the schema."""
    return TrainSpec.from_dict({**copy.deepcopy(BASE_SPEC), **kw})


def schema_defaults(experiment: str, key: str) -> Any:
    """The value the schema gives ``experiments.<experiment>.<key>`` when a config leaves it
    out (for a block: each of its keys' defaults)."""
    node = load_schema(SCHEMA_PATH)["properties"]["experiments"]["properties"][experiment]
    sub = node["properties"][key]
    if "properties" in sub:
        base = copy.deepcopy(sub.get("default") or {})
        for k, v in sub["properties"].items():
            if isinstance(v, dict) and "default" in v:
                base.setdefault(k, copy.deepcopy(v["default"]))
        return base
    return copy.deepcopy(sub.get("default"))


def analysis_params(name: str, device: str = "cpu", **over: Any) -> dict[str, Any]:
    """The params of analysis ``name`` as the workflow passes them (its registry options with
    the schema's defaults), ``over`` merged in (mappings merge key by key)."""
    a = analysis(name)
    params = {k: schema_defaults(a.experiment, k) for k in a.options}
    return deep_merge({**params, "device": device}, over)
