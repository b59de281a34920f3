"""Checks of the Part 1-3 (generalization) experiments, per data set."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hw1 import datasets
from hw1.architectures import param_count, spec_of
from hw1.config.variants import by_dataset, expand_variants
from hw1.grids import alpha_grid

GENERALIZATION = (
    "random_labels",
    "params_vs_generalization",
    "interpolation",
    "batch_size",
    "keskar",
)


def check_generalization(cfg: Mapping[str, Any]) -> list[str]:
    """Cross-key rules of the Part 1-3 experiments, per data set; messages name the key
    (empty: all well)."""
    errs: list[str] = []
    exps = cfg["experiments"]
    specs = (
        expand_variants(cfg)
        if any(e in exps for e in (*GENERALIZATION, "generalization_measures"))
        else {}
    )
    for exp in GENERALIZATION:
        for v, spec in specs.get(exp, {}).items():
            if not datasets.is_dataset(spec["dataset"]):
                errs.append(
                    f"config key experiments.{exp}.variants.{v}: dataset must be a registered "
                    f"classification data set {datasets.names()}, not {spec['dataset']!r}"
                )
    gm = exps.get("generalization_measures")
    for src in gm["runs_from"] if gm else []:
        for v, spec in specs.get(src, {}).items():
            if not datasets.is_dataset(spec["dataset"]):
                errs.append(
                    "config key experiments.generalization_measures.runs_from: experiment "
                    f"{src!r} trains variant {v} on {spec['dataset']!r}, not a classification "
                    f"data set {datasets.names()}; measure classifiers only (drop {src!r})"
                )
                break
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
    for ds, group in by_dataset(specs.get("keskar", {})).items():
        sizes = sorted(s["batch_size"] for s in group.values())
        if len(sizes) != 2 or sizes[0] == sizes[1]:
            errs.append(
                "config key experiments.keskar.variants: need exactly two variants of different "
                f"batch sizes (small and large batch), got {sizes} on {ds}"
            )
        if len({repr(s["model"]) for s in group.values()}) > 1:
            errs.append(
                "config key experiments.keskar.variants: models differ; only the batch size may"
            )
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
