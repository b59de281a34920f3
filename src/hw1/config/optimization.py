"""Checks of the Part 1-2 (optimization) experiments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hw1 import datasets
from hw1.architectures import param_count, spec_of


def check_optimization(
    cfg: Mapping[str, Any], variants: Mapping[str, Mapping[str, dict]]
) -> list[str]:
    """Cross-key rules of the Part 1-2 experiments (the schema cannot express them).

    ``variants`` is :func:`hw1.config.variants.expand_variants` of ``cfg``. Returns messages naming
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
