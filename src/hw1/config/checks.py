"""The config check as a whole: the schema, the rules across keys that the schema cannot
express (snapshot epochs beyond the last epoch, batch sizes above the set size, ...), model
sizes, figure styles, then each part's rules — all before any job starts. Every message
names the key."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from hw1 import datasets
from hw1.architectures import param_count, spec_of
from hw1.config.deep_vs_shallow import check_param_matching
from hw1.config.generalization import check_generalization
from hw1.config.load import ConfigError, non_finite, schema_errors
from hw1.config.optimization import check_optimization
from hw1.config.variants import expand_variants, runs_from, set_sizes
from hw1.schema import load_schema


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
        for src in runs_from(ecfg):
            if "variants" not in cfg["experiments"].get(src, {}):
                errs.append(
                    f"config key experiments.{exp}.runs_from: {src!r} is not a configured "
                    "experiment with variants (training runs); configured: "
                    f"{sorted(e for e, c in cfg['experiments'].items() if 'variants' in c)}"
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
            n = set_sizes(cfg, ds)[0]
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
