"""Reading the config: duplicate-free YAML, typed ``--config`` values, merging, and the
schema check (types, ranges, enums, unknown keys; defaults filled in) with messages that
name the key."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator, validators

from hw1.schema import resolve


class ConfigError(ValueError):
    """Invalid configuration; the message names the key, the value and what is allowed."""


def _with_defaults(cls):
    """A validator class that also fills in schema ``default`` values (jsonschema recipe)."""
    validate_props = cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and prop not in instance:
                    instance[prop] = copy.deepcopy(sub["default"])
        yield from validate_props(validator, properties, instance, schema)

    return validators.extend(cls, {"properties": set_defaults})


def _strict_integer(checker, instance) -> bool:
    """An integer is an ``int`` (not a bool, not a float such as ``2.0``): jsonschema counts
    ``2.0`` as an integer, and a job then failed with a bare TypeError deep inside torch."""
    return isinstance(instance, int) and not isinstance(instance, bool)


_StrictIntegers = validators.extend(
    Draft7Validator,
    type_checker=Draft7Validator.TYPE_CHECKER.redefine("integer", _strict_integer),
)
DefaultFillingValidator = _with_defaults(_StrictIntegers)


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _explain(err) -> str:
    v = err.validator
    if v == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        return f"{err.message}; allowed keys here: {allowed}"
    if v == "enum":
        return f"{err.instance!r} is not allowed; allowed: {err.validator_value}"
    if v == "propertyNames":
        return f"{err.message}"
    if v == "type" and "integer" in err.validator_value and isinstance(err.instance, float):
        return (
            f"{err.instance!r} is not an integer (write {int(err.instance)}, no decimal point)"
            if float(err.instance).is_integer()
            else f"{err.instance!r} is not an integer"
        )
    return err.message


def schema_errors(cfg: dict, schema: Mapping) -> list[str]:
    """All schema violations, each as 'config key <dotted.path>: <what is wrong>'."""
    val = DefaultFillingValidator(schema)
    errs = sorted(val.iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path)))
    out = []
    for e in errs:
        # descend into the most specific cause for combinators
        leaf = e
        while leaf.context:
            leaf = min(leaf.context, key=lambda c: -len(c.absolute_path))
        out.append(f"config key {_key(leaf.absolute_path)}: {_explain(leaf)}")
    return out


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that rejects duplicate keys (PyYAML silently keeps the last one)."""


def _strict_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(
                f"{node.start_mark.name}: key {key!r} appears twice in one mapping (lines "
                f"{seen[key] + 1} and {key_node.start_mark.line + 1}); names must be unique"
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)


def check_duplicate_keys(path: str | Path) -> None:
    """Raise :class:`ConfigError` if a YAML file repeats a key (e.g. two variants of one
    name), which a plain YAML load would silently collapse into one."""
    with open(path) as f:
        yaml.load(f, Loader=_StrictLoader)  # a SafeLoader subclass: no arbitrary objects


def _typed(value: Any, node: Any, defs: Mapping) -> Any:
    node = resolve(node, defs)
    if isinstance(value, Mapping):
        props = node.get("properties", {}) if isinstance(node, Mapping) else {}
        extra = node.get("additionalProperties", {}) if isinstance(node, Mapping) else {}
        return {k: _typed(v, props.get(k, extra), defs) for k, v in value.items()}
    if isinstance(value, list):
        items = node.get("items", {}) if isinstance(node, Mapping) else {}
        return [_typed(v, items, defs) for v in value]
    if not isinstance(value, str) or not isinstance(node, Mapping):
        return value
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    text = value.strip()
    if "null" in types and text.lower() in ("null", "none", "~"):
        return None
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    for typ, conv in (("integer", int), ("number", float)):
        if typ in types:
            try:
                return conv(text)
            except ValueError:
                pass
    return value


def typed_overrides(overrides: Mapping[str, Any], schema: Mapping) -> dict[str, Any]:
    """``--config`` values with their real types. Snakemake reads a nested ``--config`` value
    (``data={"download": false}``) as strings only; each string is converted to the type the
    schema gives its key (boolean, integer, number, null), everything else is kept."""
    return _typed(dict(overrides), schema, schema.get("definitions", {}))


def deep_merge(base: Mapping, over: Mapping) -> dict:
    """``over`` merged into a copy of ``base`` (mappings merge, everything else replaces)."""
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) and k != "model":
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def non_finite(node: Any, path: tuple = ()) -> list[str]:
    """Every NaN or ±inf anywhere in the config, each naming its key: one rule for all
    numbers (the schema's bounds let NaN through, since every comparison with NaN is
    false, and an infinite value breaks whatever it reaches)."""
    if isinstance(node, Mapping):
        return [e for k, v in node.items() for e in non_finite(v, (*path, k))]
    if isinstance(node, list | tuple):
        return [e for i, v in enumerate(node) for e in non_finite(v, (*path, i))]
    if isinstance(node, float) and not math.isfinite(node):
        return [
            f"config key {_key(path)}: {node} must be finite (NaN and ±inf are refused for "
            "every number of the config)"
        ]
    return []
