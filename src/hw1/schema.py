"""The config schema: where it lives, read as one document, and the training defaults it states.

The schema (``workflow/schemas/config.schema.yaml`` and one file per experiment beside it) is
the one place every config default is written: ``default`` values are filled in by
validation (:mod:`hw1.config`), ``x-default`` values of the training spec by
:func:`hw1.config.expand_variants` and :meth:`hw1.trainspec.TrainSpec.from_dict`. This module
needs only PyYAML, so that training jobs can read the defaults without jsonschema.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

# The schema shipped with the workflow (its per-experiment parts beside it).
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def load_schema(path: str | Path) -> dict:
    """The main schema as one document: each ``experiments/<name>.schema.yaml`` it refers to
    (``$ref``) inlined as the schema of ``experiments.<name>``, their references back to the
    main file's ``definitions`` made local. (The files themselves are valid with their
    references, as ``snakemake.utils.validate`` reads them.)"""
    path = Path(path)
    with open(path) as f:
        schema = yaml.safe_load(f)
    props = schema["properties"]["experiments"].get("properties", {})
    back = f"../{path.name}#/definitions/"
    for name, node in props.items():
        ref = node.get("$ref", "") if isinstance(node, dict) else ""
        if ref and not ref.startswith("#"):
            text = (path.parent / ref).read_text().replace(f'"{back}', '"#/definitions/')
            sub = yaml.safe_load(text)
            sub.pop("$schema", None)  # one document, one dialect (else defaults go unfilled)
            props[name] = sub
    return schema


def train_defaults(schema: Mapping) -> dict[str, Any]:
    """What a complete training spec gets for each key neither the experiment's ``train`` nor
    the variant sets: the schema's ``x-default`` values (the one place they are written)."""
    props = schema["definitions"]["train"]["properties"]
    return {k: copy.deepcopy(v["x-default"]) for k, v in props.items() if "x-default" in v}


_SCHEMA = load_schema(SCHEMA_PATH)
TRAIN_DEFAULTS: dict[str, Any] = train_defaults(_SCHEMA)


def resolve(node: Any, defs: Mapping) -> Any:
    """A schema node with its ``$ref`` and ``allOf`` references to ``definitions`` merged in."""
    if not isinstance(node, Mapping):
        return node
    if "$ref" in node:
        node = {
            **defs[node["$ref"].split("/")[-1]],
            **{k: v for k, v in node.items() if k != "$ref"},
        }
    for sub in node.get("allOf", []):
        node = {**resolve(sub, defs), **node}
    return node


def _schema_defaults(node: Mapping, key: str) -> dict[str, Any]:
    """The ``key`` values (``default`` or ``x-default``) of the properties of ``node``."""
    return {
        k: copy.deepcopy(v[key])
        for k, v in node["properties"].items()
        if isinstance(v, Mapping) and key in v
    }


_DEFS = _SCHEMA["definitions"]
# What a model mapping gets for the keys it leaves out (the schema fills them in a validated
# config; models built in code get the same).
MODEL_DEFAULTS: dict[str, Any] = _schema_defaults(_DEFS["model"], "default")
# The learning-rate schedule's values for the keys a schedule leaves out.
LR_SCHEDULE_DEFAULTS: dict[str, Any] = {
    **TRAIN_DEFAULTS["lr_schedule"],
    **_schema_defaults(_DEFS["train"]["properties"]["lr_schedule"], "x-default"),
}


def lr_schedule(schedule: Mapping[str, Any] | None) -> dict[str, Any]:
    """A learning-rate schedule with the schema's values for the keys it leaves out (its
    type, step decay ``gamma``, cosine ``min_lr``)."""
    return {**LR_SCHEDULE_DEFAULTS, **(schedule or {})}


def model_with_defaults(model: Mapping[str, Any]) -> dict[str, Any]:
    """A model mapping with the schema's values for the keys it leaves out."""
    return {**MODEL_DEFAULTS, **model}
