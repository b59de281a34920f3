"""Checks of the Part 1-1 (deep vs shallow) experiments: models of (nearly) equal size."""

from __future__ import annotations

from collections.abc import Mapping

from hw1.architectures import param_count, spec_of
from hw1.config.variants import by_dataset, expand_variants


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
