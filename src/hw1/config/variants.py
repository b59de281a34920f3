"""Experiments into training jobs: each (experiment, variant) as one complete, flat training
spec — the unit of one Snakemake training job — and the set sizes a job on a data set uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hw1 import datasets
from hw1.config.load import ConfigError, deep_merge
from hw1.schema import TRAIN_DEFAULTS

# Keys every complete training spec must have after merging base and variant.
REQUIRED_TRAIN_KEYS = ("dataset", "model", "optimizer", "lr", "batch_size", "epochs", "seeds")


def runs_from(ecfg: Mapping[str, Any]) -> list[str]:
    """The experiments whose runs an analysis-only experiment block reads: its ``runs_from``
    (one name or a list; empty when the block trains runs of its own)."""
    src = ecfg.get("runs_from")
    if src is None:
        return []
    return [src] if isinstance(src, str) else list(src)


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


def by_dataset(specs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Mapping[str, Any]]]:
    """An experiment's variant specs grouped by data set (config order), each group keyed by
    the variant's own name (without the data-set prefix)."""
    out: dict[str, dict[str, Mapping[str, Any]]] = {}
    for vid, spec in specs.items():
        out.setdefault(spec["dataset"], {})[datasets.base_variant(vid, spec["dataset"])] = spec
    return out
