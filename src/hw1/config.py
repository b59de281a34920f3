"""Typed view of the validated config and expansion of experiments into variants.

The config is data: each experiment holds a base training spec (``train``) and named
variants whose keys override it. :func:`expand_variants` turns that into one complete,
flat training spec per (experiment, variant) — the unit of one Snakemake training job.
Validation happens in two stages, both before any job starts: the JSON schema (types,
ranges, enums, unknown keys) and :func:`check_semantics` (cross-key rules the schema cannot
express, such as snapshot epochs beyond the last epoch). Every message names the key.
"""

from __future__ import annotations

import copy
import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from jsonschema import Draft7Validator, validators

from hw1 import datasets
from hw1.specs import param_count, spec_of


class ConfigError(ValueError):
    """Invalid configuration; the message names the key, the value and what is allowed."""


# Keys every complete training spec must have after merging base and variant.
REQUIRED_TRAIN_KEYS = ("dataset", "model", "optimizer", "lr", "batch_size", "epochs", "seeds")
# The schema shipped with the workflow (its per-experiment parts beside it).
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


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


TRAIN_DEFAULTS: dict[str, Any] = train_defaults(load_schema(SCHEMA_PATH))


def _resolve(node: Any, defs: Mapping) -> Any:
    """A schema node with its ``$ref`` and ``allOf`` references to ``definitions`` merged in."""
    if not isinstance(node, Mapping):
        return node
    if "$ref" in node:
        node = {
            **defs[node["$ref"].split("/")[-1]],
            **{k: v for k, v in node.items() if k != "$ref"},
        }
    for sub in node.get("allOf", []):
        node = {**_resolve(sub, defs), **node}
    return node


def _typed(value: Any, node: Any, defs: Mapping) -> Any:
    node = _resolve(node, defs)
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


def expand_variants(cfg: Mapping) -> dict[str, dict[str, dict[str, Any]]]:
    """Complete training spec of every (experiment, variant), as plain dicts.

    Experiments without ``variants`` (``runs_from: <experiment>``) train nothing.

    ``seeds: n`` becomes ``[0, ..., n-1]``; ``snapshot_every: k`` adds every k-th epoch
    (from 0) to ``snapshot_epochs``. An experiment with ``datasets`` (data set -> training
    keys for that data set) multiplies its variants with its data sets, and the ``functions``
    experiment with its function list: variant ``<data>-<variant>`` trains on that data
    (:func:`hw1.datasets.variant_id`); a data set's keys override ``train`` and are
    overridden by the variant's.
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for exp, ecfg in cfg["experiments"].items():
        if "variants" not in ecfg:  # an analysis of another experiment's runs
            continue
        base = deep_merge(TRAIN_DEFAULTS, ecfg.get("train", {}))
        per_data = data_overrides(exp, ecfg)
        variants: dict[str, dict[str, Any]] = {}
        for vname, over in ecfg["variants"].items():
            if per_data is None:
                variants[vname] = _finish(exp, vname, deep_merge(base, over))
                continue
            for ds, ds_over in per_data.items():
                vid = datasets.variant_id(ds, vname)
                spec = deep_merge(deep_merge(base, ds_over), over)
                variants[vid] = _finish(exp, vid, {**spec, "dataset": ds})
        out[exp] = variants
    return out


def data_overrides(exp: str, ecfg: Mapping[str, Any]) -> dict[str, dict[str, Any]] | None:
    """The data an experiment multiplies its variants with, each with its training keys:
    ``datasets`` (a mapping), the ``functions`` experiment's function list, or None (the
    variants' own ``dataset``)."""
    if exp == "functions":
        return {fn: {} for fn in ecfg["functions"]}
    if "datasets" in ecfg:
        return {ds: dict(over or {}) for ds, over in ecfg["datasets"].items()}
    return None


def _finish(exp: str, variant: str, spec: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in REQUIRED_TRAIN_KEYS if k not in spec]
    if missing:
        raise ConfigError(
            f"config key experiments.{exp}: variant {variant!r} lacks {missing} "
            "(set them in the experiment's train or in the variant)"
        )
    spec = dict(spec)
    every = spec.pop("snapshot_every", None)
    snaps = set(spec.get("snapshot_epochs", []))
    if every:
        snaps |= set(range(0, spec["epochs"] + 1, every))
    spec["snapshot_epochs"] = sorted(snaps)
    spec["seeds"] = list(range(int(spec["seeds"])))
    spec["experiment"], spec["variant"] = exp, variant
    return spec


def set_sizes(cfg: Mapping, dataset: str) -> tuple[int, int]:
    """Training and test set sizes a job on ``dataset`` uses: a registered data set's, capped
    by ``data.train_size`` / ``test_size``; a 1-D function's grid and its midpoints."""
    if datasets.is_dataset(dataset):
        ds = datasets.get(dataset)
        d = cfg["data"]
        return (
            min(ds.n_train, int(d.get("train_size") or ds.n_train)),
            min(ds.n_test, int(d.get("test_size") or ds.n_test)),
        )
    n = int(cfg["functions"][dataset]["n_train"])
    return n, n - 1


def train_size(cfg: Mapping, dataset: str) -> int:
    return set_sizes(cfg, dataset)[0]


def check_semantics(cfg: Mapping) -> list[str]:
    """Cross-key rules; returns messages naming the key (empty when all is well)."""
    errs: list[str] = []
    for fn, fcfg in cfg["functions"].items():
        lo, hi = fcfg["domain"]
        if not (math.isfinite(lo) and math.isfinite(hi)):
            errs.append(
                f"config key functions.{fn}.domain: [{lo}, {hi}] must be finite numbers "
                "(an infinite end gives an infinite grid spacing)"
            )
        elif not lo < hi:
            errs.append(f"config key functions.{fn}.domain: start {lo} must be below end {hi}")
    fexp = cfg["experiments"].get("functions", {})
    for fn in fexp.get("functions", []):
        if fn not in cfg["functions"]:
            errs.append(
                f"config key experiments.functions.functions: {fn!r} has no entry under "
                f"top-level functions (defined: {sorted(cfg['functions'])})"
            )
    for exp, ecfg in cfg["experiments"].items():
        src = ecfg.get("runs_from")
        if src is not None and "variants" not in cfg["experiments"].get(src, {}):
            errs.append(
                f"config key experiments.{exp}.runs_from: {src!r} is not a configured "
                "experiment with variants (training runs)"
            )
    errs += _check_data_sizes(cfg)
    if errs:
        return errs
    try:
        specs = expand_variants(cfg)
    except ConfigError as exc:
        return [str(exc)]
    for exp, variants in specs.items():
        for vname, spec in variants.items():
            where = f"config key experiments.{exp} (variant {vname})"
            ds = spec["dataset"]
            if not datasets.is_dataset(ds) and ds not in cfg["functions"]:
                key = (
                    f"config key experiments.{exp}.datasets"
                    if "datasets" in cfg["experiments"][exp]
                    else where
                )
                errs.append(
                    f"{key}: dataset {ds!r} is unknown; allowed: a registered data set "
                    f"{datasets.names()} (hw1.datasets) or a function of {sorted(cfg['functions'])}"
                )
                continue
            n = train_size(cfg, ds)
            sub = spec.get("train_examples")
            if sub is not None and sub > n:
                errs.append(
                    f"{where}: train_examples {sub} exceeds the training set ({n} examples)"
                )
            n = min(n, sub or n)
            if spec["batch_size"] > n:
                errs.append(
                    f"{where}: batch_size {spec['batch_size']} is larger than the training "
                    f"set ({n} examples)"
                )
            late = [e for e in spec["snapshot_epochs"] if e > spec["epochs"]]
            if late:
                errs.append(
                    f"{where}: snapshot_epochs {late} lie beyond the last epoch {spec['epochs']}"
                )
            if spec["labels"] == "random" and not datasets.is_dataset(ds):
                errs.append(
                    f"{where}: labels: random needs a classification data set "
                    f"{datasets.names()}, not the function {ds!r}"
                )
            if spec["model"]["type"] == "cnn" and not datasets.is_dataset(ds):
                errs.append(
                    f"{where}: a cnn needs image data {datasets.names()}, not the function {ds!r}"
                )
            sch = spec["lr_schedule"]
            if sch["type"] == "cosine" and sch.get("min_lr", 0.0) > spec["lr"]:
                errs.append(
                    f"{where}: lr_schedule.min_lr {sch['min_lr']} is above lr {spec['lr']} "
                    "(cosine annealing would raise the learning rate); set min_lr <= lr"
                )
            if sch["type"] == "step" and sch["step_size"] > spec["epochs"]:
                errs.append(
                    f"{where}: lr_schedule.step_size {sch['step_size']} exceeds epochs "
                    f"{spec['epochs']} (the schedule would never act)"
                )
    return errs


def _check_data_sizes(cfg: Mapping) -> list[str]:
    """``data.train_size`` / ``test_size`` within every data set the experiments train on."""
    errs = []
    used = set()
    for ecfg in cfg["experiments"].values():
        used |= set(ecfg.get("datasets") or {})
        used |= {ecfg.get("train", {}).get("dataset")}
        used |= {v.get("dataset") for v in (ecfg.get("variants") or {}).values()}
    for name in sorted(n for n in used if n and datasets.is_dataset(n)):
        ds = datasets.get(name)
        for key, n in (("train_size", ds.n_train), ("test_size", ds.n_test)):
            want = cfg["data"].get(key)
            if want is not None and want > n:
                errs.append(
                    f"config key data.{key}: {want} is more than the {n:,} "
                    f"{key.split('_')[0]} examples of {ds.title}; use at most {n} or null (all)"
                )
    return errs


def check_optimization(
    cfg: Mapping[str, Any], variants: Mapping[str, Mapping[str, dict]]
) -> list[str]:
    """Cross-key rules of the Part 1-2 experiments (the schema cannot express them).

    ``variants`` is :func:`hw1.config.expand_variants` of ``cfg``. Returns messages naming
    the config key (empty when all is well).
    """
    errs: list[str] = []
    exps = cfg["experiments"]
    for vname, spec in variants.get("grad_norm", {}).items():
        if not spec["record_steps"]:
            errs.append(
                f"config key experiments.grad_norm (variant {vname}): record_steps must be "
                "true (the figure draws the loss and gradient norm of every iteration)"
            )
    for vname, spec in variants.get("minimal_ratio", {}).items():
        if datasets.is_dataset(spec["dataset"]):
            errs.append(
                f"config key experiments.minimal_ratio (variant {vname}): dataset must be a "
                f"1-D function (regression), not {spec['dataset']}: the exact Hessian needs a "
                "tiny network"
            )
    mr = exps.get("minimal_ratio")
    for vname, spec in variants.get("minimal_ratio", {}).items():
        n = param_count(spec_of(spec))
        if n > mr["max_params"]:
            errs.append(
                f"config key experiments.minimal_ratio.max_params: the model of variant "
                f"{vname} has {n} parameters, more than max_params {mr['max_params']} (the "
                "exact Hessian is P x P per run); use a smaller model or raise max_params"
            )
    # the PCA of trajectories: the experiment itself, and the runs error_surface analyses
    checked = {"pca_trajectories": "pca_trajectories"}
    if "error_surface" in exps:
        checked["error_surface.runs_from"] = exps["error_surface"]["runs_from"]
    for key, exp in checked.items():
        for vname, spec in variants.get(exp, {}).items():
            where = f"config key experiments.{key}"
            if not datasets.is_dataset(spec["dataset"]):
                errs.append(
                    f"{where}: experiment {exp} (variant {vname}) trains on "
                    f"{spec['dataset']!r}; it must be a classification experiment on a "
                    f"registered data set {datasets.names()}"
                )
            need = 3 if key == "error_surface.runs_from" else 2
            if len(spec["seeds"]) < 2 or len(spec["snapshot_epochs"]) < need:
                errs.append(
                    f"{where}: experiment {exp} (variant {vname}) needs seeds >= 2 and at least "
                    f"{need} snapshot epochs (snapshot_every) for the PCA of its trajectories"
                )
    es = exps.get("error_surface")
    if es is not None:
        seed = es.get("surface", {}).get("seed", 0)
        for vname, spec in variants.get(es["runs_from"], {}).items():
            if seed not in spec["seeds"]:
                errs.append(
                    f"config key experiments.error_surface.surface.seed: {seed} is not one of "
                    f"the trained seeds {spec['seeds']} (variant {vname})"
                )
    return errs


def by_dataset(specs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Mapping[str, Any]]]:
    """An experiment's variant specs grouped by data set (config order), each group keyed by
    the variant's own name (without the data-set prefix)."""
    out: dict[str, dict[str, Mapping[str, Any]]] = {}
    for vid, spec in specs.items():
        out.setdefault(spec["dataset"], {})[datasets.base_variant(vid, spec["dataset"])] = spec
    return out


GENERALIZATION = ("random_labels", "params_vs_generalization", "interpolation", "batch_size")


def check_generalization(cfg: Mapping[str, Any]) -> list[str]:
    """Cross-key rules of the Part 1-3 experiments, per data set; messages name the key
    (empty: all well)."""
    errs: list[str] = []
    exps = cfg["experiments"]
    specs = expand_variants(cfg) if any(e in exps for e in GENERALIZATION) else {}
    for exp in GENERALIZATION:
        for v, spec in specs.get(exp, {}).items():
            if not datasets.is_dataset(spec["dataset"]):
                errs.append(
                    f"config key experiments.{exp}.variants.{v}: dataset must be a registered "
                    f"classification data set {datasets.names()}, not {spec['dataset']!r}"
                )
    if errs:
        return errs
    for ds, group in by_dataset(specs.get("random_labels", {})).items():
        kinds = [s["labels"] for s in group.values()]
        if kinds.count("random") != 1 or kinds.count("true") > 1:
            errs.append(
                "config key experiments.random_labels.variants: need exactly one variant with "
                f"labels: random and at most one with labels: 'true' (got {kinds} on {ds})"
            )
    for ds, group in by_dataset(specs.get("params_vs_generalization", {})).items():
        counts = {v: param_count(spec_of(s)) for v, s in group.items()}
        decades = math.log10(max(counts.values()) / min(counts.values()))
        need = exps["params_vs_generalization"].get("min_param_decades", 2)
        if decades < need:
            errs.append(
                "config key experiments.params_vs_generalization.variants: parameter counts "
                f"{counts} on {ds} span {decades:.2f} decades, fewer than min_param_decades {need}"
            )
    if "interpolation" in specs:
        for group in by_dataset(specs["interpolation"]).values():
            errs += _check_interpolation(exps["interpolation"], group)
        errs = list(dict.fromkeys(errs))
    for ds, group in by_dataset(specs.get("batch_size", {})).items():
        sizes = [s["batch_size"] for s in group.values()]
        if len(set(sizes)) != len(sizes):
            errs.append(
                f"config key experiments.batch_size.variants: batch sizes repeat on {ds}: {sizes}"
            )
        models = {repr(s["model"]) for s in group.values()}
        if len(models) > 1:
            errs.append(
                "config key experiments.batch_size.variants: models differ; only the "
                "batch size may vary"
            )
    return errs


def _check_interpolation(ecfg: Mapping[str, Any], specs: Mapping[str, Any]) -> list[str]:
    errs = []
    where = "config key experiments.interpolation"
    seed = ecfg["seed"]
    for name, pair in ecfg["pairs"].items():
        bad = [v for v in pair if v not in specs]
        if bad:
            errs.append(f"{where}.pairs.{name}: unknown variant(s) {bad}; defined: {sorted(specs)}")
            continue
        s1, s2 = specs[pair[0]], specs[pair[1]]
        if s1["model"] != s2["model"]:
            errs.append(f"{where}.pairs.{name}: {pair} have different models")
        if s1["epochs"] != s2["epochs"]:
            errs.append(f"{where}.pairs.{name}: {pair} train different epochs (need equal budget)")
        for v in pair:
            if seed not in specs[v]["seeds"]:
                errs.append(
                    f"{where}.seed: {seed} is not a seed of variant {v} (seeds {specs[v]['seeds']})"
                )
    a = ecfg["alpha"]
    try:
        grid = alpha_grid(a["start"], a["stop"], a["steps"])
    except ValueError as exc:
        return [*errs, f"{where}.alpha: {exc}"]
    if not (0.0 in grid and 1.0 in grid):
        errs.append(f"{where}.alpha: the grid {a} must contain alpha = 0 and 1 exactly")
    return errs


def alpha_grid(start: float, stop: float, n: int) -> np.ndarray:
    """``n`` evenly spaced α from ``start`` to ``stop`` (both included), float64.

    ``np.linspace`` alone yields values such as ``1.0000000000000002``; here the values are
    rounded to 12 decimals (removing that noise) and, when 0 or 1 lies on the grid, the grid
    point is set to exactly ``0.0`` / ``1.0`` (never ``-0.0``), so that the models themselves
    are evaluated there.
    """
    if isinstance(n, bool) or int(n) != n or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    start, stop, n = float(start), float(stop), int(n)
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise ValueError(f"start and stop must be finite, got {start}, {stop}")
    if start >= stop:
        raise ValueError(f"start must be < stop, got {start} >= {stop}")
    step = (stop - start) / (n - 1)
    grid = np.linspace(start, stop, n, dtype=np.float64)
    if step >= 1e-9:
        grid = np.round(grid, 12)
        grid[0], grid[-1] = start, stop
    for target in (0.0, 1.0):
        k = (target - start) / step
        idx = round(k)
        if 0 <= idx < n and abs(k - idx) < 1e-6:
            grid[idx] = target
    return grid + 0.0  # turns any -0.0 into 0.0


def check_styles(cfg: Mapping) -> list[str]:
    """Every figure's palette is a colormap matplotlib knows (checked at parse time, so a bad
    style never reaches a plot job, where Snakemake would delete the last good figure).
    matplotlib is imported only when a palette is set."""
    palettes = {
        name: style["palette"]
        for name, style in cfg.get("figures", {}).items()
        if "palette" in style and style["palette"] != "tab10"
    }
    if not palettes:
        return []
    # only when a palette is configured: the Snakefile imports this module at parse time
    # (matplotlib costs ~0.3 s there)
    from matplotlib import colormaps

    return [
        f"config key figures.{name}.palette: {pal!r} is not a matplotlib colormap; e.g. "
        "tab10, tab20, viridis, plasma, Set1, Dark2 (see matplotlib.colormaps)"
        for name, pal in palettes.items()
        if pal not in colormaps
    ]


def param_spread(counts: Mapping[str, int]) -> float:
    """Relative spread (max - min) / min of parameter counts."""
    vals = list(counts.values())
    return (max(vals) - min(vals)) / min(vals)


def model_param_counts(cfg: Mapping, exp: str) -> dict[str, dict[str, int]]:
    """Parameter count of each model (variant) of ``exp`` per data set, computed from the
    architecture (no network is built: the parse stays torch-free and an absurd width costs
    nothing)."""
    return {
        ds: {v: param_count(spec_of(s)) for v, s in group.items()}
        for ds, group in by_dataset(expand_variants(cfg)[exp]).items()
    }


def check_param_matching(cfg: Mapping) -> list[str]:
    """The depth experiments compare models of (nearly) equal size on each data set (the
    input shape changes the counts): enforce the spread."""
    errs = []
    for exp in ("functions", "cnn_depth"):
        if exp not in cfg["experiments"]:
            continue
        limit = cfg["experiments"][exp].get("max_param_spread")
        if limit is None:
            continue
        for ds, counts in model_param_counts(cfg, exp).items():
            spread = param_spread(counts)
            if spread > limit:
                errs.append(
                    f"config key experiments.{exp}.variants: parameter counts {counts} on {ds} "
                    f"differ by {spread:.1%}, more than max_param_spread {limit:.1%}; resize "
                    "the models"
                )
            if exp == "functions":
                break  # the function nets have the same input on every function
    return errs


# Largest training job accepted: parameters x seeds (x 16 bytes of parameters, gradients and
# Adam state = 16 GB). A larger job is a typo (a width of 10**9), caught before anything runs.
MAX_JOB_PARAMS = 1_000_000_000


def check_sizes(cfg: Mapping) -> list[str]:
    """Every variant's network within :data:`MAX_JOB_PARAMS` (counted, never allocated)."""
    errs = []
    for exp, variants in expand_variants(cfg).items():
        for vname, spec in variants.items():
            n = param_count(spec_of(spec)) * len(spec["seeds"])
            if n > MAX_JOB_PARAMS:
                errs.append(
                    f"config key experiments.{exp} (variant {vname}): model {spec['model']} "
                    f"has {n / len(spec['seeds']):.3g} parameters x {len(spec['seeds'])} seeds "
                    f"= {n:.3g}, above the limit of {MAX_JOB_PARAMS:.0e} per job; "
                    "shrink the widths"
                )
    return errs


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


def validate(cfg: dict, schema_path: str | Path) -> dict:
    """Fill defaults and validate ``cfg`` in place; raise :class:`ConfigError` listing every
    problem. Returns ``cfg``. The one place where the config is checked: schema, cross-key
    rules, model sizes, then each part's rules — all before any job starts."""
    errs = non_finite(cfg) + schema_errors(cfg, load_schema(schema_path))
    if not errs:
        errs = check_semantics(cfg)
    if not errs:
        errs = check_sizes(cfg)
    if not errs:
        errs = check_param_matching(cfg)
        errs += check_optimization(cfg, expand_variants(cfg))
        errs += check_generalization(cfg)
        errs += check_styles(cfg)
    if errs:
        # one message per problem (a data set's error would repeat for each of its variants)
        errs = list(dict.fromkeys(errs))
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(errs))
    return cfg


def _walk_schema(node: Mapping, path: str, defs: Mapping, out: list[tuple[str, str, str, str]]):
    """Collect (dotted key, type, default, description) rows of a schema node."""
    node = _resolve(node, defs)
    props = node.get("properties", {})
    for key, sub in props.items():
        if sub is True:
            continue
        sub = _resolve(sub, defs)
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


if __name__ == "__main__":
    print(
        config_keys_markdown(
            sys.argv[1] if len(sys.argv) > 1 else "workflow/schemas/config.schema.yaml"
        )
    )
