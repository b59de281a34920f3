"""What the report's per-figure summaries share: the :class:`FigureSummary` record, the one
number formatter, the settings lines read from the config, and the statistics over seeds.

No number is typed by hand: every value comes from a table, its ``attrs`` or the config,
and every value is printed by :func:`fmt`. pandas and numpy only (no torch, no matplotlib).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hw1 import datasets
from hw1.catalogue import figure as catalogued
from hw1.config import expand_variants, runs_from
from hw1.runs import model_phrase, schedule_phrase

MISSING = "n/a"
SD = " sd"  # suffix of a column holding the standard deviation of the column it extends


@dataclass(frozen=True)
class FigureSummary:
    """What the report says about one figure."""

    figure: str
    title: str
    part: str
    settings: list[str]
    numbers: pd.DataFrame
    observation: str
    note: str = ""  # what the numbers table holds (e.g. "mean ± sd over 3 seeds")

    @classmethod
    def of(
        cls,
        name: str,
        settings: list[str],
        numbers: pd.DataFrame,
        observation: str,
        note: str = "",
    ) -> FigureSummary:
        """The summary of catalogued figure ``name`` (title and part from the catalogue)."""
        fig = catalogued(name)
        return cls(name, fig.title, fig.part, settings, numbers, observation, note)


# ----------------------------------------------------------------------------- formatting


def fmt(value: Any) -> str:
    """The one number formatter: 4 significant digits, integers with thousands separators,
    missing values as ``n/a``."""
    if value is None or value is pd.NA:
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v):
            return MISSING
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        if v != 0 and 1e4 <= abs(v) < 1e15:
            digits = 3 - math.floor(math.log10(abs(v)))
            return f"{round(v, digits):,.0f}"
        return f"{v:.4g}"
    return str(value)


def fmt_pm(mean: float, sd: float) -> str:
    """``mean ± sd``, or the mean alone when the sd is undefined (one seed)."""
    if sd is None or (isinstance(sd, float | np.floating) and math.isnan(sd)):
        return fmt(mean)
    return f"{fmt(mean)} ± {fmt(sd)}"


def fmt_pct(share: float) -> str:
    """A share in [0, 1] as a percentage (same significant digits)."""
    return f"{fmt(100.0 * float(share))}%"


def display_table(numbers: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and formatted rows of a numbers table; a column ``X sd`` is merged into the
    column ``X`` before it as ``mean ± sd``."""
    cols = [c for c in numbers.columns if not (c.endswith(SD) and c[: -len(SD)] in numbers)]
    rows = []
    for _, r in numbers.iterrows():
        row = []
        for c in cols:
            sd = r[c + SD] if c + SD in numbers else None
            row.append(fmt_pm(r[c], sd) if sd is not None else fmt(r[c]))
        rows.append(row)
    return [str(c) for c in cols], rows


# ----------------------------------------------------------------------------- config


def figure_config(config: Mapping[str, Any], figure: str) -> dict[str, Any]:
    """The part of ``config`` that a figure's summary reads: data, functions and the
    figure's experiment block (plus the blocks whose runs it analyses, ``runs_from``)."""
    exp = catalogued(figure).experiment
    exps = config.get("experiments", {})
    keep = {}
    if exp in exps:
        keep[exp] = exps[exp]
        for src in runs_from(exps[exp]):
            if src in exps:
                keep[src] = exps[src]
    return {
        "data": data_settings(config),
        "functions": dict(config.get("functions", {})),
        "experiments": keep,
    }


# What the summaries read of the data config: how much of each data set was used, and the random
# labels' seed; not where the files came from (that changes no number).
DATA_KEYS = ("train_size", "test_size", "random_label_seed")


def data_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The data settings a summary states (so that captions rerun only when they change)."""
    d = config.get("data", {})
    return {k: d[k] for k in DATA_KEYS if k in d}


def report_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``config`` the whole report reads (not figure styles, not devices, not
    where the data came from)."""
    out = {k: config[k] for k in ("functions", "experiments") if k in config}
    return {"data": data_settings(config), **out} if "data" in config else out


def _specs(config: Mapping[str, Any], experiment: str) -> dict[str, dict[str, Any]]:
    """Resolved training spec of every model of ``experiment`` (functions: one per model)."""
    block = config.get("experiments", {}).get(experiment)
    if not block or "variants" not in block:
        return {}
    specs = expand_variants({"experiments": {experiment: block}})[experiment]
    out: dict[str, dict[str, Any]] = {}
    for name, spec in specs.items():
        base = datasets.base_variant(name, spec["dataset"])
        # one spec per model; the data a model trains on is the data lines' business, except
        # where a data set's own keys change its training (then each is listed)
        key = base
        if base in out and not _same_training(out[base], spec):
            key = f"{base} ({datasets.title(spec['dataset'])})"
        out.setdefault(key, spec)
    return out


def _same_training(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in TRAIN_KEYS)


OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "adamw": "AdamW", "rmsprop": "RMSprop"}


def _key_text(key: str, spec: Mapping[str, Any]) -> str:
    v = spec.get(key)
    texts: dict[str, Callable[[], str]] = {
        "dataset": lambda: f"data {v}",
        "model": lambda: model_phrase(v),
        "optimizer": lambda: OPTIMIZERS.get(str(v), str(v)),
        "lr": lambda: f"lr {fmt(float(v))}",
        "lr_schedule": lambda: schedule_phrase(v, fmt),
        "momentum": lambda: f"momentum {fmt(float(v))}" if v else "",
        "weight_decay": lambda: f"weight decay {fmt(float(v))}" if v else "",
        "batch_size": lambda: f"batch size {fmt(int(v))}",
        "epochs": lambda: f"{fmt(int(v))} epochs",
        "seeds": lambda: f"{len(v)} seed{'s' if len(v) != 1 else ''}",
        "labels": lambda: f"{v} labels",
    }
    return texts[key]()


TRAIN_KEYS = (
    "optimizer",
    "lr",
    "lr_schedule",
    "momentum",
    "weight_decay",
    "batch_size",
    "epochs",
    "seeds",
    "labels",
)


def training_lines(
    config: Mapping[str, Any], experiment: str, label: str = "training"
) -> list[str]:
    """Training settings of an experiment: the shared ones in one line, then one line per
    model for the settings that differ between its models."""
    specs = _specs(config, experiment)
    if not specs:
        return []
    keys = [k for k in TRAIN_KEYS if k != "labels" or any(s[k] != "true" for s in specs.values())]
    first = next(iter(specs.values()))
    same = [k for k in keys if all(s.get(k) == first.get(k) for s in specs.values())]
    differ = [k for k in keys if k not in same]
    shared = [t for t in (_key_text(k, first) for k in same) if t]
    lines = [f"{label}: " + ", ".join(shared)] if shared else []
    for name, spec in specs.items():
        texts = [t for t in (_key_text(k, spec) for k in differ) if t]
        if texts:
            lines.append(f"{name}: " + ", ".join(texts))
    return lines


def data_lines(config: Mapping[str, Any], experiment: str) -> list[str]:
    """What the models were trained on (subsets of the image data sets, or the 1-D function
    grids)."""
    block = config.get("experiments", {}).get(experiment)
    if not block or "variants" not in block:
        return []
    specs = expand_variants({"experiments": {experiment: block}})[experiment]
    out = []
    for ds in dict.fromkeys(s["dataset"] for s in specs.values()):
        if datasets.is_dataset(ds):
            entry = datasets.get(ds)
            d = config.get("data", {})
            n_tr = min(entry.n_train, int(d.get("train_size") or entry.n_train))
            n_te = min(entry.n_test, int(d.get("test_size") or entry.n_test))
            subsets = {s.get("train_examples") for s in specs.values() if s["dataset"] == ds}
            if len(subsets) == 1 and None not in subsets:
                n_tr = min(int(n_tr), int(next(iter(subsets))))
            out.append(
                f"data: {entry.title}, {fmt(int(n_tr))} of {fmt(entry.n_train)} training and "
                f"{fmt(int(n_te))} of {fmt(entry.n_test)} test images"
            )
        elif ds in config.get("functions", {}):
            f = config["functions"][ds]
            lo, hi = f["domain"]
            n = int(f["n_train"])
            out.append(
                f"data: {ds}, {fmt(n)} evenly spaced training points on [{fmt(float(lo))}, "
                f"{fmt(float(hi))}], tested on the {fmt(n - 1)} midpoints"
            )
    return out


def models_line(df: pd.DataFrame, name: str, desc: str, params: str) -> str:
    df = df.drop_duplicates(name)
    items = [f"{r[name]} ({r[desc]}, {fmt(int(r[params]))} parameters)" for _, r in df.iterrows()]
    return "models: " + "; ".join(items)


# ----------------------------------------------------------------------------- statistics


def seed_stats(
    rows: pd.DataFrame, keys: Sequence[str], values: Sequence[str], names: Sequence[str]
) -> pd.DataFrame:
    """Mean and sd (ddof 1) over seeds of ``values`` per ``keys`` group (group order kept);
    columns ``name`` and ``name sd`` for each of ``names``."""
    g = rows.groupby(list(keys), sort=False)[list(values)]
    mean, sd = g.mean(), g.std(ddof=1)
    out = mean.reset_index()[list(keys)]
    for v, n in zip(values, names, strict=True):
        out[n] = mean[v].to_numpy()
        out[n + SD] = sd[v].to_numpy()
    return out


def final_rows(df: pd.DataFrame, keys: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Rows of the last epoch of each ``keys`` group, without seeds that diverged there;
    also the number of seed-runs left out."""
    last = df["epoch"] == df.groupby(list(keys))["epoch"].transform("max")
    fin = df[last]
    bad = fin["diverged"].astype(bool) if "diverged" in fin else pd.Series(False, fin.index)
    run = [k for k in keys if k != "split"] + ["seed"]  # a run has rows of both splits
    bad_runs = fin[bad].drop_duplicates(run) if bad.any() else fin.iloc[:0]
    return fin[~bad], len(bad_runs)


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation; NaN when undefined (fewer than 2 points or a constant)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def count_noun(n: int, noun: str) -> str:
    return f"{fmt(n)} {noun}{'s' if n != 1 else ''}"


def stop_rule_text(row: Mapping[str, Any]) -> str:
    """The stop rule a run was trained under, in words, from a table row holding its
    ``patience``, ``rel_tol``, ``abs_tol`` and ``epoch_limit`` (:func:`hw1.engine.stalled`)."""
    margins = [fmt_pct(float(row["rel_tol"]))] if float(row["rel_tol"]) > 0 else []
    if float(row.get("abs_tol", 0.0)) > 0:
        margins.append(f"{fmt(float(row['abs_tol']))} nats")
    below = f"{' and '.join(margins)} below its best" if margins else "below its best"
    return (
        f"until no seed's full training loss had fallen {below} for "
        f"{fmt(int(row['patience']))} epochs, at most {fmt(int(row['epoch_limit']))} epochs"
    )


def r_text(r: float) -> str:
    return f"r = {fmt(r)}" if not math.isnan(r) else "undefined (fewer than 2 points or constant)"


def seed_note(df: pd.DataFrame, dropped: int = 0) -> str:
    n = int(df["seed"].nunique())
    note = f"mean ± sd over {n} seeds" if n > 1 else "one seed"
    if dropped:
        note += f"; {dropped} diverged run{'s' if dropped > 1 else ''} left out"
    return note


def in_depth_order(df: pd.DataFrame) -> pd.DataFrame:
    """Rows by function (first appearance) and then by model depth, as the figures draw."""
    keys = {}
    if "function" in df:
        keys["_f"] = df["function"].map({f: i for i, f in enumerate(dict.fromkeys(df["function"]))})
    keys["_d"] = df["depth"]
    return df.assign(**keys).sort_values(list(keys), kind="stable").drop(columns=list(keys))


# ----------------------------------------------------------------------------- data sets

DATASET_COLUMN = "data set"


@dataclass(frozen=True)
class DatasetFindings:
    """What one data set's rows of a figure's table show: the numbers, one observation, and
    named yes/no findings (each with its stated criterion in the name) that the report
    compares across data sets."""

    numbers: pd.DataFrame
    observation: str
    findings: Mapping[str, bool]


def per_dataset(
    table: pd.DataFrame, summarize: Callable[[pd.DataFrame], DatasetFindings]
) -> tuple[pd.DataFrame, str]:
    """The numbers and observation of a figure drawn on one or more data sets.

    ``summarize`` is applied to each data set's rows (in the table's order); the numbers
    tables are stacked under a leading ``data set`` column, and the observation says, per
    data set, what its rows show, then which findings hold on every data set and which
    differ (naming where each holds). A table without a ``dataset`` column is one data set.
    """
    if "dataset" not in table:
        one = summarize(table)
        return one.numbers, one.observation
    order = list(dict.fromkeys(table["dataset"]))
    parts = {ds: summarize(table[table["dataset"] == ds]) for ds in order}
    nums = pd.concat(
        [p.numbers.assign(**{DATASET_COLUMN: datasets.title(ds)}) for ds, p in parts.items()],
        ignore_index=True,
    )
    nums = nums[[DATASET_COLUMN, *[c for c in nums.columns if c != DATASET_COLUMN]]]
    if len(order) == 1:
        return nums, next(iter(parts.values())).observation
    text = " ".join(f"{datasets.title(ds)}: {p.observation}" for ds, p in parts.items())
    names = list(dict.fromkeys(k for p in parts.values() for k in p.findings))
    both = [k for k in names if all(p.findings.get(k) is True for p in parts.values())]
    neither = [k for k in names if all(p.findings.get(k) is False for p in parts.values())]
    differ = [k for k in names if k not in both and k not in neither]
    sets = " and ".join(datasets.title(ds) for ds in order)
    if both:
        text += f" On both {sets}: " + "; ".join(both) + "."
    if neither:
        text += " On neither: " + "; ".join(neither) + "."
    if differ:
        text += (
            " Differs: "
            + "; ".join(
                f"{k} holds on "
                + ", ".join(datasets.title(ds) for ds, p in parts.items() if p.findings.get(k))
                + " but not on "
                + ", ".join(datasets.title(ds) for ds, p in parts.items() if not p.findings.get(k))
                for k in differ
            )
            + "."
        )
    return nums, text
