"""The README's table of config keys, generated from the schema (``python -m hw1.config``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from hw1.schema import load_schema, resolve


def _walk_schema(node: Mapping, path: str, defs: Mapping, out: list[tuple[str, str, str, str]]):
    """Collect (dotted key, type, default, description) rows of a schema node."""
    node = resolve(node, defs)
    props = node.get("properties", {})
    for key, sub in props.items():
        if sub is True:
            continue
        sub = resolve(sub, defs)
        kpath = f"{path}.{key}" if path else key
        typ = sub.get("type", "object" if "properties" in sub else "")
        if isinstance(typ, list):
            typ = " or ".join(typ)
        if "enum" in sub:
            typ = " \\| ".join(map(str, sub["enum"]))
        default = sub.get("default", sub.get("x-default", ""))
        default = "" if default == "" else json.dumps(default)
        out.append((kpath, str(typ), default, " ".join(str(sub.get("description", "")).split())))
        _walk_schema(sub, kpath, defs, out)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra:
        _walk_schema(extra, f"{path}.<name>", defs, out)


def config_key_rows(schema: Mapping) -> list[tuple[str, str, str, str]]:
    """Every config key the schema knows, as (dotted key, type, default, description)."""
    rows: list[tuple[str, str, str, str]] = []
    defs = schema.get("definitions", {})
    _walk_schema(schema, "", defs, rows)
    # the training spec shared by every experiment (base `train` and each variant)
    rows.append(
        ("experiments.<name>.train", "object", "", " ".join(defs["train"]["description"].split()))
    )
    _walk_schema(defs["train"], "experiments.<name>.train", defs, rows)
    rows.append(
        (
            "experiments.<name>.variants.<variant>",
            "object",
            "",
            "a named variant: any `train` keys, overriding the experiment's `train`; one training "
            "job per variant (per function x variant in `functions`)",
        )
    )
    return rows


def config_keys_markdown(schema_path: str | Path) -> str:
    """The README's table of config keys, generated from the schema (``python -m hw1.config``)."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key, typ, default, desc in config_key_rows(load_schema(schema_path)):
        lines.append(f"| `{key}` | {typ} | {f'`{default}`' if default else ''} | {desc} |")
    return "\n".join(lines)
