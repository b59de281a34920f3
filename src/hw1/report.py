"""The homework report, written from the figure tables and the configuration alone.

One summary function per figure (:data:`SUMMARIES`) turns a figure's tidy table into a
:class:`FigureSummary`: the settings it was made with, a small table of final numbers and
one observation sentence computed from the data. :func:`caption_rst` renders a summary as
a reStructuredText caption (for the Snakemake HTML report); :func:`build_report` writes
``report.md`` and ``report.html`` laid out like the homework (parts 1-1, 1-2, 1-3).

No number is typed by hand: every value comes from a table, its ``attrs`` or the config,
and every value is printed by :func:`fmt`. pandas and numpy only (no torch, no matplotlib).
"""

from __future__ import annotations

import html
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hw1.io import atomic_path, read_parquet

MISSING = "n/a"
SD = " sd"  # suffix of a column holding the standard deviation of the column it extends

PARTS = {"1-1": "Deep vs shallow", "1-2": "Optimization", "1-3": "Generalization"}

# figure -> (part, experiment whose config block describes it, title); in FIGURES order
FIGURE_INFO: dict[str, tuple[str, str, str]] = {
    "function_loss": ("1-1", "functions", "Simulating a function: training and test loss"),
    "function_fit": ("1-1", "functions", "Simulating a function: the fitted curves"),
    "mnist_depth": ("1-1", "mnist_depth", "Training on MNIST: CNNs of different depth"),
    "pca_trajectories": ("1-2", "pca_trajectories", "Visualizing the optimization process"),
    "grad_norm": ("1-2", "grad_norm", "Gradient norm during training"),
    "minimal_ratio": ("1-2", "minimal_ratio", "What happens when the gradient is almost zero"),
    "error_surface": ("1-2", "error_surface", "Bonus: the error surface"),
    "random_labels": ("1-3", "random_labels", "Can the network fit random labels?"),
    "params_vs_generalization": (
        "1-3",
        "params_vs_generalization",
        "Number of parameters vs generalization",
    ),
    "interpolation": ("1-3", "interpolation", "Flatness vs generalization: interpolation"),
    "sensitivity": ("1-3", "batch_size", "Flatness vs generalization: sensitivity"),
    "sharpness": ("1-3", "batch_size", "Bonus: sharpness vs batch size"),
}
FIGURE_ORDER = list(FIGURE_INFO)


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
    figure's experiment block (plus the block whose runs it analyses, ``runs_from``)."""
    exp = FIGURE_INFO[figure][1]
    exps = config.get("experiments", {})
    keep = {}
    if exp in exps:
        keep[exp] = exps[exp]
        src = exps[exp].get("runs_from")
        if src in exps:
            keep[src] = exps[src]
    return {
        "data": dict(config.get("data", {})),
        "functions": dict(config.get("functions", {})),
        "experiments": keep,
    }


def report_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``config`` the whole report reads (not figure styles, not devices)."""
    return {k: config[k] for k in ("data", "functions", "experiments") if k in config}


def _specs(config: Mapping[str, Any], experiment: str) -> dict[str, dict[str, Any]]:
    """Resolved training spec of every model of ``experiment`` (functions: one per model)."""
    from hw1.config import expand_variants

    block = config.get("experiments", {}).get(experiment)
    if not block or "variants" not in block:
        return {}
    specs = expand_variants({"experiments": {experiment: block}})[experiment]
    out: dict[str, dict[str, Any]] = {}
    for name, spec in specs.items():
        out.setdefault(name.split("-")[-1] if experiment == "functions" else name, spec)
    return out


OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "adamw": "AdamW", "rmsprop": "RMSprop"}


def _schedule_text(sch: Mapping[str, Any]) -> str:
    kind = (sch or {}).get("type", "constant")
    if kind == "constant":
        return "constant lr"
    if kind == "cosine":
        return f"lr cosine-annealed to {fmt(float(sch.get('min_lr', 0.0)))}"
    if kind == "step":
        return f"lr ×{fmt(float(sch.get('gamma', 0.1)))} every {sch['step_size']} epochs"
    return f"lr schedule {kind}"


def _key_text(key: str, spec: Mapping[str, Any]) -> str:
    v = spec.get(key)
    texts: dict[str, Callable[[], str]] = {
        "dataset": lambda: f"data {v}",
        "model": lambda: _model_text(v),
        "optimizer": lambda: OPTIMIZERS.get(str(v), str(v)),
        "lr": lambda: f"lr {fmt(float(v))}",
        "lr_schedule": lambda: _schedule_text(v),
        "momentum": lambda: f"momentum {fmt(float(v))}" if v else "",
        "weight_decay": lambda: f"weight decay {fmt(float(v))}" if v else "",
        "batch_size": lambda: f"batch size {fmt(int(v))}",
        "epochs": lambda: f"{fmt(int(v))} epochs",
        "seeds": lambda: f"{len(v)} seed{'s' if len(v) != 1 else ''}",
        "labels": lambda: f"{v} labels",
    }
    return texts[key]()


def _model_text(model: Mapping[str, Any]) -> str:
    hidden = "-".join(str(h) for h in model.get("hidden", [])) or "none"
    if model.get("type") == "cnn":
        chans = "-".join(str(c) for c in model.get("channels", []))
        return f"CNN conv {chans}, dense {hidden}"
    act = model.get("activation")
    return f"MLP hidden {hidden}" + (f" ({act})" if act else "")


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
    """What the models were trained on (MNIST subset, or the 1-D function grids)."""
    specs = _specs(config, experiment)
    datasets = list(dict.fromkeys(s["dataset"] for s in specs.values()))
    if experiment == "functions":
        datasets = list(config["experiments"]["functions"].get("functions", []))
    out = []
    for ds in datasets:
        if ds == "mnist":
            d = config.get("data", {})
            n_tr, n_te = d.get("train_size") or 60000, d.get("test_size") or 10000
            subsets = {s.get("train_examples") for s in specs.values() if s["dataset"] == ds}
            if len(subsets) == 1 and None not in subsets:
                n_tr = min(int(n_tr), int(next(iter(subsets))))
            out.append(
                f"data: MNIST, {fmt(int(n_tr))} of 60,000 training and {fmt(int(n_te))} of "
                "10,000 test images"
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


def _models_line(df: pd.DataFrame, name: str, desc: str, params: str) -> str:
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


def _count(n: int, noun: str) -> str:
    return f"{fmt(n)} {noun}{'s' if n != 1 else ''}"


def _r_text(r: float) -> str:
    return f"r = {fmt(r)}" if not math.isnan(r) else "undefined (fewer than 2 points or constant)"


def _seed_note(df: pd.DataFrame, dropped: int = 0) -> str:
    n = int(df["seed"].nunique())
    note = f"mean ± sd over {n} seeds" if n > 1 else "one seed"
    if dropped:
        note += f"; {dropped} diverged run{'s' if dropped > 1 else ''} left out"
    return note


def _in_order(df: pd.DataFrame) -> pd.DataFrame:
    """Rows by function (first appearance) and then by model depth, as the figures draw."""
    keys = {}
    if "function" in df:
        keys["_f"] = df["function"].map({f: i for i, f in enumerate(dict.fromkeys(df["function"]))})
    keys["_d"] = df["depth"]
    return df.assign(**keys).sort_values(list(keys), kind="stable").drop(columns=list(keys))


# ----------------------------------------------------------------------------- Part 1-1


def _depth_loss_numbers(df: pd.DataFrame, by: list[str]) -> tuple[pd.DataFrame, int]:
    fin, dropped = final_rows(df, [*by, "split"])
    stats = []
    for split in ("train", "test"):
        s = fin[fin["split"] == split]
        stats.append(seed_stats(s, [*by, "depth", "params"], ["loss"], [f"final {split} loss"]))
    out = stats[0].merge(stats[1], on=[*by, "depth", "params"], how="left", sort=False)
    return out, dropped


def summarize_function_loss(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Final train/test MSE per function and model; which depth fit best by what factor."""
    df = _in_order(table)
    nums, dropped = _depth_loss_numbers(df, ["function", "model"])
    parts = []
    for fn, g in nums.groupby("function", sort=False):
        best = g.loc[g["final train loss"].idxmin()]
        worst = g.loc[g["final train loss"].idxmax()]
        ratio = worst["final train loss"] / best["final train loss"]
        parts.append(
            f"{fn}: {best['model']} ({_count(int(best['depth']), 'hidden layer')}, "
            f"{fmt(best['final train loss'])}, {fmt(ratio)}× below {worst['model']})"
        )
    obs = "Lowest final training loss (mean over seeds) per function: " + "; ".join(parts) + "."
    settings = [
        _models_line(df, "model", "hidden", "params"),
        *data_lines(config, "functions"),
        *training_lines(config, "functions"),
        "loss: per-sample mean squared error on the full training and test grids",
    ]
    return FigureSummary(
        "function_loss",
        FIGURE_INFO["function_loss"][2],
        "1-1",
        settings,
        nums,
        obs,
        _seed_note(table, dropped),
    )


def summarize_function_fit(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Test-grid MSE of each model's final prediction; which model fits each function best."""
    df = _in_order(table).assign(sq=lambda d: (d["y_pred"] - d["y_true"]) ** 2)
    per_seed = df.groupby(["function", "model", "depth", "params", "seed"], sort=False)["sq"]
    mse = per_seed.mean().reset_index()
    mse["max_abs"] = np.sqrt(per_seed.max().to_numpy())
    nums = seed_stats(
        mse,
        ["function", "model", "depth", "params"],
        ["sq", "max_abs"],
        ["test-grid MSE", "max abs error"],
    )
    parts = []
    for fn, g in nums.groupby("function", sort=False):
        best = g.loc[g["test-grid MSE"].idxmin()]
        worst = g.loc[g["test-grid MSE"].idxmax()]
        parts.append(
            f"{fn}: {best['model']} (MSE {fmt(best['test-grid MSE'])}, "
            f"{fmt(worst['test-grid MSE'] / best['test-grid MSE'])}× below {worst['model']})"
        )
    obs = "Closest fit to the ground truth on the test grid per function: " + "; ".join(parts) + "."
    settings = [
        _models_line(df, "model", "hidden", "params"),
        *data_lines(config, "functions"),
        *training_lines(config, "functions"),
        "prediction: final weights of every seed on the test grid (the midpoints)",
    ]
    return FigureSummary(
        "function_fit",
        FIGURE_INFO["function_fit"][2],
        "1-1",
        settings,
        nums,
        obs,
        _seed_note(table) + "; max abs error: the largest absolute error on the grid",
    )


def summarize_mnist_depth(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Final loss/accuracy per CNN; lowest training loss by depth and best test accuracy."""
    df = _in_order(table)
    fin, dropped = final_rows(df, ["model", "split"])
    keys = ["model", "depth", "params"]
    parts = []
    for split in ("train", "test"):
        s = fin[fin["split"] == split]
        parts.append(
            seed_stats(
                s, keys, ["loss", "accuracy"], [f"final {split} loss", f"final {split} accuracy"]
            )
        )
    nums = parts[0].merge(parts[1], on=keys, sort=False)
    best = nums.loc[nums["final train loss"].idxmin()]
    worst = nums.loc[nums["final train loss"].idxmax()]
    top = nums.loc[nums["final test accuracy"].idxmax()]
    epochs = int(table["epoch"].max())
    obs = (
        f"After {epochs} epochs, {best['model']} ({_count(int(best['depth']), 'conv layer')}) "
        f"reached the lowest final training loss, {fmt(best['final train loss'])}, "
        f"{fmt(worst['final train loss'] / best['final train loss'])}× below {worst['model']} "
        f"({fmt(worst['final train loss'])}), and {top['model']} the highest test accuracy, "
        f"{fmt(top['final test accuracy'])}."
    )
    settings = [
        _models_line(df, "model", "hidden", "params"),
        *data_lines(config, "mnist_depth"),
        *training_lines(config, "mnist_depth"),
        "metrics: cross-entropy and accuracy on the full training and test sets",
    ]
    return FigureSummary(
        "mnist_depth",
        FIGURE_INFO["mnist_depth"][2],
        "1-1",
        settings,
        nums,
        obs,
        _seed_note(table, dropped),
    )


# ----------------------------------------------------------------------------- Part 1-2


def summarize_pca_trajectories(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Explained variance of the PCA planes; final training accuracy range of the runs."""
    a = table.attrs
    parts = table.drop_duplicates("part")[["part", "n_params", "evr1", "evr2"]]
    nums = pd.DataFrame(
        {
            "part": parts["part"]
            .map({"whole": "whole model", "layer1": "first layer"})
            .fillna(parts["part"]),
            "parameters": parts["n_params"].astype(int).to_numpy(),
            "PC1 variance (%)": 100 * parts["evr1"].to_numpy(),
            "PC2 variance (%)": 100 * parts["evr2"].to_numpy(),
            "PC1+PC2 (%)": 100 * (parts["evr1"] + parts["evr2"]).to_numpy(),
        }
    ).reset_index(drop=True)
    last = table[table["epoch"] == table.groupby("run")["epoch"].transform("max")]
    acc = last.drop_duplicates("run")["accuracy"]
    n_runs = int(table["run"].nunique())
    share = [
        f"{fmt_pct(r['PC1+PC2 (%)'] / 100)}"
        + (" of the variance" if i == 0 else "")
        + f" for the {r['part']}"
        for i, (_, r) in enumerate(nums.iterrows())
    ]
    obs = (
        f"For the {n_runs} runs' weight snapshots the first two principal components explain "
        f"{' and '.join(share)}; the runs end at training accuracy {fmt(acc.min())} to "
        f"{fmt(acc.max())}."
    )
    epochs = sorted(table["epoch"].unique())
    settings = [
        f"model: {a.get('model', 'MLP')} ({fmt(int(a.get('n_params', nums['parameters'].max())))}"
        " parameters)",
        *data_lines(config, "pca_trajectories"),
        *training_lines(config, "pca_trajectories"),
        f"snapshots: epochs {', '.join(fmt(int(e)) for e in epochs)} of each of {n_runs} runs; "
        "PCA fitted per part on all runs and snapshots together",
    ]
    return FigureSummary(
        "pca_trajectories",
        FIGURE_INFO["pca_trajectories"][2],
        "1-2",
        settings,
        nums,
        obs,
        "explained-variance share of each PCA plane",
    )


def grad_norm_window(n: int) -> int:
    """Iterations averaged for the first and last values (1% of the run, as in the figure)."""
    return max(1, n // 100)


def summarize_grad_norm(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """First vs last loss and gradient norm of every case."""
    rows = []
    for (case, seed), g in table.groupby(["case", "seed"], sort=False):
        g = g.sort_values("step")
        w = grad_norm_window(len(g))
        head, tail = g.iloc[:w], g.iloc[-w:]
        rows.append(
            {
                "case": case,
                "seed": int(seed),
                "data": g["dataset"].iloc[0],
                "parameters": int(g["n_params"].iloc[0]),
                "iterations": len(g),
                "first loss": head["loss"].mean(),
                "last loss": tail["loss"].mean(),
                "first grad norm": head["grad_norm"].mean(),
                "last grad norm": tail["grad_norm"].mean(),
            }
        )
    nums = pd.DataFrame(rows)
    nums["grad norm last/first"] = nums["last grad norm"] / nums["first grad norm"]
    parts = [
        f"in case {r['case']} the minibatch gradient norm went from {fmt(r['first grad norm'])} "
        f"to {fmt(r['last grad norm'])} (×{fmt(r['grad norm last/first'])}) over "
        f"{fmt(r['iterations'])} iterations while the loss went from {fmt(r['first loss'])} to "
        f"{fmt(r['last loss'])}"
        for _, r in nums.iterrows()
    ]
    obs = "; ".join(parts) + "."
    obs = obs[0].upper() + obs[1:]
    cases = table.drop_duplicates("case")
    settings = [
        "cases: "
        + "; ".join(
            f"{r['case']}: {r['model']} on {r['dataset']} ({fmt(int(r['n_params']))} parameters, "
            f"batch size {fmt(int(r['batch_size']))})"
            for _, r in cases.iterrows()
        ),
        *data_lines(config, "grad_norm"),
        *training_lines(config, "grad_norm"),
        "first/last: mean over the first/last 1% of the iterations (at least one)",
    ]
    if table["seed"].nunique() > 1:
        settings.append("one row per case and seed")
    return FigureSummary(
        "grad_norm",
        FIGURE_INFO["grad_norm"][2],
        "1-2",
        settings,
        nums,
        obs,
        "minibatch loss and gradient norm ‖∇θL‖₂, first and last iterations",
    )


def summarize_minimal_ratio(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Share of phase-2 runs that converged; their minimal ratios."""
    a = table.attrs
    block = config.get("experiments", {}).get("minimal_ratio", {})
    p2 = block.get("phase2", {})
    thr = float(a.get("threshold", p2.get("threshold", float("nan"))))
    conv = table[table["converged"].astype(bool)]
    rest = table[~table["converged"].astype(bool)]

    def row(name: str, d: pd.DataFrame) -> dict[str, Any]:
        mr = d["minimal_ratio"]
        nan = float("nan")
        return {
            "runs": name,
            "count": len(d),
            "median minimal ratio": mr.median() if len(d) else nan,
            "min minimal ratio": mr.min() if len(d) else nan,
            "max minimal ratio": mr.max() if len(d) else nan,
            "median share positive of non-zero": d["ratio_nonzero"].median() if len(d) else nan,
            "median zero band": d["tol"].median() if len(d) else nan,
            "median loss": d["loss"].median() if len(d) else nan,
            "median grad norm": d["grad_norm"].median() if len(d) else nan,
        }

    nums = pd.DataFrame(
        [
            row(f"converged (‖∇L‖ < {fmt(thr)})", conv),
            row("not converged", rest),
            row("all", table),
        ]
    )
    n, k = len(table), len(conv)
    if k:
        obs = (
            f"{fmt(k)} of {fmt(n)} runs ({fmt_pct(k / n)}) reached ‖∇L‖ < {fmt(thr)} in phase "
            f"2, and at those near-critical points the minimal ratio has median "
            f"{fmt(conv['minimal_ratio'].median())} (range {fmt(conv['minimal_ratio'].min())} "
            f"to {fmt(conv['minimal_ratio'].max())}) at median loss {fmt(conv['loss'].median())}; "
            f"among the clearly non-zero eigenvalues a median "
            f"{fmt_pct(conv['ratio_nonzero'].median())} are positive, so the points are "
            + (
                "minima up to flat directions."
                if conv["ratio_nonzero"].median() >= 0.95
                else "saddle-like."
            )
        )
    else:
        obs = (
            f"None of the {fmt(n)} runs reached ‖∇L‖ < {fmt(thr)} in phase 2; over all runs "
            f"the median minimal ratio is {fmt(table['minimal_ratio'].median())}."
        )
    n_params = int(table["n_params"].iloc[0])
    settings = [
        f"model: {a.get('model', 'MLP')} ({a.get('activation', 'relu')}, {fmt(n_params)} "
        f"parameters) on {a.get('dataset', '?')}"
        + (f" ({fmt(int(a['n_train']))} training points)" if "n_train" in a else ""),
        *data_lines(config, "minimal_ratio"),
        *training_lines(config, "minimal_ratio", "phase 1 (training)"),
        f"phase 2: {OPTIMIZERS.get(str(a.get('optimizer', p2.get('optimizer'))), '?')} lr "
        f"{fmt(float(a.get('lr', p2.get('lr', float('nan')))))} on ½‖∇L‖², full batch, "
        f"at most {fmt(int(a.get('max_steps', p2.get('max_steps', 0))))} steps, converged when "
        f"‖∇L‖ < {fmt(thr)}",
        "minimal ratio: share of the exact Hessian's eigenvalues above each run's zero band "
        f"max({fmt(float(a.get('tol', block.get('eigenvalue_tol', 0.0))))}, "
        f"{fmt(float(a.get('rtol', block.get('eigenvalue_rtol', float('nan')))))} · max|λ|, ‖∇L‖)",
    ]
    return FigureSummary(
        "minimal_ratio",
        FIGURE_INFO["minimal_ratio"][2],
        "1-2",
        settings,
        nums,
        obs,
        "after phase 2, by whether the run converged",
    )


def summarize_error_surface(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Loss range of both surfaces; the trained model's place on the random-direction grid."""
    a = table.attrs
    surf = table[table["kind"] == "surface"]
    rnd = surf[surf["panel"] == "random"]
    own = surf[surf["panel"] == "run"]
    traj = table[table["kind"] == "trajectory"].sort_values(["run", "epoch"])
    dist = np.hypot(rnd["a"].to_numpy(), rnd["b"].to_numpy())
    centre = rnd.iloc[int(np.argmin(dist))]
    lo = rnd.loc[rnd["loss"].idxmin()]
    ends = traj.groupby("run")["loss"]
    # the contour under each end point (the plane's origin) vs the run's own final loss
    at_end = own.assign(d=np.hypot(own["a"], own["b"])).sort_values("d").groupby("run").first()
    info = a.get("pca_runs", [])
    evr = [sum(r["evr"]) for r in info]
    off = [r["median_off_plane"] for r in info]
    rows = [
        ("random directions", "grid minimum", rnd["loss"].min()),
        ("random directions", "grid maximum", rnd["loss"].max()),
        ("random directions", "the trained model (centre)", centre["loss"]),
        (
            "own trajectory planes",
            "grid minimum (median over runs)",
            own.groupby("run")["loss"].min().median(),
        ),
        ("own trajectory planes", "trajectory start (median over runs)", ends.first().median()),
        ("own trajectory planes", "trajectory end (median over runs)", ends.last().median()),
        (
            "own trajectory planes",
            "grid point nearest the end (median over runs)",
            at_end["loss"].median(),
        ),
        (
            "own trajectory planes",
            "variance explained by the plane (median)",
            float(np.median(evr)) if evr else float("nan"),
        ),
        (
            "own trajectory planes",
            "share of a snapshot's deviation off the plane (median)",
            float(np.median(off)) if off else float("nan"),
        ),
    ]
    nums = pd.DataFrame(rows, columns=["surface", "where", "value"])
    where = (
        "is the lowest point of the grid"
        if lo.name == centre.name or lo["loss"] >= centre["loss"]
        else f"lies above the grid's minimum {fmt(lo['loss'])} at "
        f"({fmt(float(lo['a']))}, {fmt(float(lo['b']))})"
    )
    plane = (
        f"; each run's own trajectory plane explains a median {fmt_pct(float(np.median(evr)))} "
        f"of its path's variance and the loss on it at the end point is "
        f"{fmt(at_end['loss'].median())} (median over runs; the runs' own final loss "
        f"{fmt(ends.last().median())})"
        if evr
        else ""
    )
    obs = (
        f"Along two filter-normalised random directions the trained model's loss, "
        f"{fmt(centre['loss'])}, {where} and rises to {fmt(rnd['loss'].max())} "
        f"(×{fmt(rnd['loss'].max() / centre['loss'])}) within the span ±"
        f"{fmt(float(rnd['a'].abs().max()))}{plane}."
    )
    block = config.get("experiments", {}).get("error_surface", {})
    src = block.get("runs_from", "pca_trajectories")
    surface = block.get("surface", {})
    settings = [
        f"model: {a.get('model', '?')} ({fmt(int(a.get('n_params', 0)))} parameters), runs of "
        f"experiment {src}",
        *data_lines(config, src),
        *training_lines(config, src, f"training ({src})"),
        f"random panel: centre run {a.get('center_seed', surface.get('seed', 0))} at epoch "
        f"{a.get('center_epoch', '?')}, direction seed "
        f"{a.get('direction_seed', surface.get('direction_seed', 0))}, "
        f"{fmt(int(a.get('grid', surface.get('grid', 0))))} × "
        f"{fmt(int(a.get('grid', surface.get('grid', 0))))} points; trajectory panels: each "
        "run's own plane (PCA of θ_i − θ_final, centred at its end point; Li et al. 2018)",
        f"loss: mean cross-entropy on {fmt(int(a.get('n_examples', 0)))} training images",
    ]
    return FigureSummary(
        "error_surface",
        FIGURE_INFO["error_surface"][2],
        "1-2",
        settings,
        nums,
        obs,
        "loss: mean cross-entropy; the last rows give shares (0-1)",
    )


# ----------------------------------------------------------------------------- Part 1-3


def first_epoch_reaching(df: pd.DataFrame, target: float) -> int | None:
    """First epoch at which the mean over seeds of the training accuracy reaches ``target``."""
    tr = df[df["split"] == "train"].groupby("epoch")["accuracy"].mean()
    hit = tr[tr >= target - 1e-12]
    return int(hit.index.min()) if len(hit) else None


def summarize_random_labels(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Final metrics of the random- and true-label runs; the epoch they reach the target."""
    target = float(table["target_accuracy"].iloc[0])
    kinds = [k for k in ("random", "true") if k in set(table["labels"])]
    rows = []
    reach: dict[str, int | None] = {}
    for kind in kinds:
        sub = table[table["labels"] == kind]
        fin, _ = final_rows(sub, ["split"])
        row: dict[str, Any] = {"labels": kind, "epochs": int(sub["epoch"].max())}
        for split in ("train", "test"):
            s = fin[fin["split"] == split]
            for col in ("loss", "accuracy"):
                row[f"final {split} {col}"] = s[col].mean()
                row[f"final {split} {col}{SD}"] = s[col].std(ddof=1)
        reach[kind] = first_epoch_reaching(sub, target)
        row[f"first epoch train accuracy ≥ {fmt_pct(target)}"] = (
            reach[kind] if reach[kind] is not None else "not reached"
        )
        rows.append(row)
    nums = pd.DataFrame(rows)
    rnd = nums[nums["labels"] == "random"].iloc[0]
    if reach.get("random") is not None:
        head = (
            f"With random labels the training accuracy first reached {fmt_pct(target)} at "
            f"epoch {reach['random']} of {rnd['epochs']}"
        )
    else:
        head = (
            f"With random labels the training accuracy did not reach {fmt_pct(target)} in "
            f"{rnd['epochs']} epochs (final {fmt(rnd['final train accuracy'])})"
        )
    tail = f" while the test accuracy ended at {fmt(rnd['final test accuracy'])}"
    if "true" in reach:
        tail += (
            f"; with true labels it reached {fmt_pct(target)} at epoch {reach['true']}"
            if reach["true"] is not None
            else f"; with true labels it did not reach {fmt_pct(target)}"
        )
    obs = head + tail + "."
    r = table.iloc[0]
    settings = [
        f"model: {r['model']} ({fmt(int(r['params']))} parameters)",
        *data_lines(config, "random_labels"),
        *training_lines(config, "random_labels"),
        "random labels: fixed random training labels; the test labels stay true",
    ]
    return FigureSummary(
        "random_labels",
        FIGURE_INFO["random_labels"][2],
        "1-3",
        settings,
        nums,
        obs,
        _seed_note(table) + "; the target epoch is that of the mean over seeds",
    )


def summarize_params_vs_generalization(
    table: pd.DataFrame, config: Mapping[str, Any]
) -> FigureSummary:
    """Final metrics per model size; best test accuracy and the trend of the gap."""
    df = table[~table["diverged"].astype(bool)].sort_values("params", kind="stable")
    dropped = len(table[table["diverged"].astype(bool)].drop_duplicates(["model", "seed"]))
    keys = ["model", "hidden", "params"]
    parts = []
    for split in ("train", "test"):
        s = df[df["split"] == split]
        parts.append(
            seed_stats(
                s, keys, ["loss", "accuracy"], [f"final {split} loss", f"final {split} accuracy"]
            )
        )
    nums = parts[0].merge(parts[1], on=keys, sort=False)
    wide = df.pivot_table(index=["model", "seed"], columns="split", values="loss")
    gap = (wide["test"] - wide["train"]).rename("gap").reset_index()
    g = gap.groupby("model")["gap"]
    nums["test − train loss"] = nums["model"].map(g.mean())
    nums["test − train loss" + SD] = nums["model"].map(g.std(ddof=1))
    top = nums.loc[nums["final test accuracy"].idxmax()]
    small, large = nums.iloc[0], nums.iloc[-1]
    obs = (
        f"The highest final test accuracy, {fmt(top['final test accuracy'])}, belongs to "
        f"{top['model']} ({fmt(int(top['params']))} parameters); from the smallest model "
        f"({small['model']}) to the largest ({large['model']}) the final training loss goes from "
        f"{fmt(small['final train loss'])} to {fmt(large['final train loss'])} and the test − "
        f"train loss gap from {fmt(small['test − train loss'])} to "
        f"{fmt(large['test − train loss'])}."
    )
    settings = [
        f"models: {fmt(len(nums))} one-hidden-layer MLPs, {fmt(int(nums['params'].min()))} to "
        f"{fmt(int(nums['params'].max()))} parameters",
        *data_lines(config, "params_vs_generalization"),
        *training_lines(config, "params_vs_generalization"),
    ]
    return FigureSummary(
        "params_vs_generalization",
        FIGURE_INFO["params_vs_generalization"][2],
        "1-3",
        settings,
        nums,
        obs,
        _seed_note(table, dropped),
    )


def interpolation_barriers(table: pd.DataFrame) -> pd.DataFrame:
    """Per pair and split: end losses, and the highest excess of the loss over the straight
    line between them for 0 < α < 1 (its α and the loss there)."""
    rows = []
    for (pair, split), g in table.groupby(["pair", "split"], sort=False):
        g = g.sort_values("alpha")
        l0 = float(g.loc[g["alpha"] == 0.0, "loss"].iloc[0])
        l1 = float(g.loc[g["alpha"] == 1.0, "loss"].iloc[0])
        inner = g[(g["alpha"] > 0.0) & (g["alpha"] < 1.0)]
        excess = inner["loss"] - ((1 - inner["alpha"]) * l0 + inner["alpha"] * l1)
        i = excess.idxmax() if len(inner) else None
        rows.append(
            {
                "pair": pair,
                "θ₁ (α = 0)": g["model1"].iloc[0],
                "θ₂ (α = 1)": g["model2"].iloc[0],
                "split": split,
                "loss at α = 0": l0,
                "loss at α = 1": l1,
                "barrier α": float(g.loc[i, "alpha"]) if i is not None else float("nan"),
                "loss at barrier": float(g.loc[i, "loss"]) if i is not None else float("nan"),
                "barrier height": float(excess.loc[i]) if i is not None else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def summarize_interpolation(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """End losses and the highest loss barrier between α = 0 and 1 of every pair."""
    nums = interpolation_barriers(table)
    tr = nums[nums["split"] == "train"]
    best = tr.loc[tr["barrier height"].idxmax()] if tr["barrier height"].notna().any() else None
    if best is not None and best["barrier height"] > 0:
        obs = (
            f"The highest training-loss barrier between α = 0 and 1 is in pair {best['pair']} "
            f"at α = {fmt(best['barrier α'])}: loss {fmt(best['loss at barrier'])}, "
            f"{fmt(best['barrier height'])} above the straight line between its ends "
            f"({fmt(best['loss at α = 0'])} at α = 0, {fmt(best['loss at α = 1'])} at α = 1)."
        )
    else:
        obs = (
            "No pair has a training-loss barrier: between α = 0 and 1 the loss stays at or "
            "below the straight line between its ends."
        )
    r = table.iloc[0]
    labels = table.drop_duplicates("model1")[["model1", "label1"]].values.tolist()
    labels += table.drop_duplicates("model2")[["model2", "label2"]].values.tolist()
    a = config.get("experiments", {}).get("interpolation", {}).get("alpha", {})
    alphas = np.sort(table["alpha"].unique())
    settings = [
        f"model: {r['model']}, seed {r['seed']} of each variant (same initial weights), "
        f"{fmt(int(r['epochs']))} epochs each",
        *data_lines(config, "interpolation"),
        *[f"{m}: {lab}" for m, lab in dict(labels).items()],
        "pairs: "
        + "; ".join(
            f"{p}: {g['model1'].iloc[0]} → {g['model2'].iloc[0]}"
            for p, g in table.groupby("pair", sort=False)
        ),
        f"path: θ(α) = (1 − α) θ₁ + α θ₂ at {fmt(len(alphas))} values of α from "
        f"{fmt(float(alphas.min()))} to {fmt(float(alphas.max()))}"
        + (f" (config: {fmt(int(a['steps']))} steps)" if "steps" in a else ""),
    ]
    return FigureSummary(
        "interpolation",
        FIGURE_INFO["interpolation"][2],
        "1-3",
        settings,
        nums,
        obs,
        "full-set cross-entropy; barrier: the largest excess of the loss over the straight "
        "line between the end losses, for 0 < α < 1 (negative: the loss stays below the line)",
    )


def _flatness_settings(table: pd.DataFrame, config: Mapping[str, Any]) -> list[str]:
    r = table.iloc[0]
    return [
        f"model: {r['model']} ({fmt(int(r['params']))} parameters)",
        *data_lines(config, "batch_size"),
        *training_lines(config, "batch_size"),
    ]


def summarize_sensitivity(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Final metrics and sensitivity per batch size; correlation with test accuracy."""
    keys = ["batch_size"]
    df = table.sort_values("batch_size", kind="stable")
    tr = seed_stats(df[df["split"] == "train"], keys, ["loss"], ["final train loss"])
    te = seed_stats(
        df[df["split"] == "test"],
        keys,
        ["loss", "accuracy", "sensitivity"],
        ["final test loss", "final test accuracy", "sensitivity"],
    )
    nums = tr.merge(te, on=keys, sort=False).rename(columns={"batch_size": "batch size"})
    r = pearson(nums["sensitivity"], nums["final test accuracy"])
    lo = nums.loc[nums["sensitivity"].idxmin()]
    hi = nums.loc[nums["sensitivity"].idxmax()]
    obs = (
        f"Across the {fmt(len(nums))} batch sizes the Pearson correlation between sensitivity "
        f"and test accuracy (means over seeds) is {_r_text(r)}; sensitivity is lowest at batch "
        f"size {fmt(int(lo['batch size']))} ({fmt(lo['sensitivity'])}) and highest at "
        f"{fmt(int(hi['batch size']))} ({fmt(hi['sensitivity'])})."
    )
    row = table.iloc[0]
    n, of = int(row["sensitivity_examples"]), int(row["test_size"])
    settings = [
        *_flatness_settings(table, config),
        "sensitivity: Frobenius norm of the Jacobian of the softmax output w.r.t. the input, "
        f"averaged over {'all ' + fmt(of) if n >= of else f'the first {fmt(n)} of {fmt(of)}'} "
        "test examples",
    ]
    return FigureSummary(
        "sensitivity",
        FIGURE_INFO["sensitivity"][2],
        "1-3",
        settings,
        nums,
        obs,
        _seed_note(table),
    )


def summarize_sharpness(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """ε-sharpness, top Hessian eigenvalue and generalization gap per batch size."""
    df = table.sort_values("batch_size", kind="stable")
    wide = df.pivot_table(index=["batch_size", "seed"], columns="split", values="loss")
    gap = (wide["test"] - wide["train"]).rename("gap").reset_index()
    tr = df[df["split"] == "train"].merge(gap, on=["batch_size", "seed"])
    nums = seed_stats(
        tr,
        ["batch_size"],
        ["sharpness", "top_eigenvalue", "gap"],
        ["ε-sharpness (%)", "top Hessian eigenvalue", "test − train loss"],
    ).rename(columns={"batch_size": "batch size"})
    r = pearson(nums["ε-sharpness (%)"], nums["test − train loss"])
    first, last = nums.iloc[0], nums.iloc[-1]
    obs = (
        f"Across the {fmt(len(nums))} batch sizes the Pearson correlation between ε-sharpness "
        f"and the generalization gap (test − train loss, means over seeds) is {_r_text(r)}, and "
        f"the top Hessian eigenvalue goes from {fmt(first['top Hessian eigenvalue'])} at batch "
        f"size {fmt(int(first['batch size']))} to {fmt(last['top Hessian eigenvalue'])} at "
        f"{fmt(int(last['batch size']))}."
    )
    row = table.iloc[0]
    n, of = int(row["sharpness_examples"]), int(row["train_size"])
    settings = [
        *_flatness_settings(table, config),
        f"sharpness of the training loss over "
        f"{'all ' + fmt(of) if n >= of else f'the first {fmt(n)} of {fmt(of)}'} training "
        f"examples: Keskar ε-sharpness with ε = {fmt(float(row['eps']))} (projected ascent) "
        "and the top Hessian eigenvalue (power iteration)",
    ]
    return FigureSummary(
        "sharpness",
        FIGURE_INFO["sharpness"][2],
        "1-3",
        settings,
        nums,
        obs,
        _seed_note(table),
    )


Summarizer = Callable[[pd.DataFrame, Mapping[str, Any]], FigureSummary]
SUMMARIES: dict[str, Summarizer] = {
    "function_loss": summarize_function_loss,
    "function_fit": summarize_function_fit,
    "mnist_depth": summarize_mnist_depth,
    "pca_trajectories": summarize_pca_trajectories,
    "grad_norm": summarize_grad_norm,
    "minimal_ratio": summarize_minimal_ratio,
    "error_surface": summarize_error_surface,
    "random_labels": summarize_random_labels,
    "params_vs_generalization": summarize_params_vs_generalization,
    "interpolation": summarize_interpolation,
    "sensitivity": summarize_sensitivity,
    "sharpness": summarize_sharpness,
}


def summarize(figure: str, table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """The summary of ``figure`` drawn from its table and the config."""
    if figure not in SUMMARIES:
        raise KeyError(f"no summary for figure {figure!r}; known: {sorted(SUMMARIES)}")
    if table.empty:
        raise ValueError(f"the table of figure {figure!r} is empty")
    return SUMMARIES[figure](table, config)


# ----------------------------------------------------------------------------- RST caption

_RST_SPECIAL = re.compile(r"([\\`*_|\[\]<>])")


def rst_escape(text: str) -> str:
    """Backslash-escape reStructuredText inline markup characters."""
    return _RST_SPECIAL.sub(r"\\\1", str(text))


def caption_rst(summary: FigureSummary) -> str:
    """A standalone reStructuredText caption: settings, final numbers, observation.

    No section titles (it is included into other documents) and no ``{{``/``{%`` (the
    Snakemake report runs captions through Jinja)."""
    out = [f"**{rst_escape(summary.title)}** (part {summary.part})", "", "Setup:", ""]
    out += [f"- {rst_escape(s)}" for s in summary.settings]
    header, rows = display_table(summary.numbers)
    title = "Final numbers" + (f" ({summary.note})" if summary.note else "")
    out += ["", f".. list-table:: {rst_escape(title)}", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        out.append(f"   * - {rst_escape(row[0])}")
        out += [f"     - {rst_escape(c)}" for c in row[1:]]
    out += ["", f"**Observation.** {rst_escape(summary.observation)}", ""]
    text = "\n".join(out)
    return text.replace("{{", "{ {").replace("{%", "{ %").replace("{#", "{ #")


def write_caption(
    figure: str,
    table_path: str | os.PathLike,
    config: Mapping[str, Any],
    out_path: str | os.PathLike,
) -> FigureSummary:
    """Summarize ``figure`` from its table file and write its RST caption atomically."""
    summary = summarize(figure, read_parquet(table_path), config)
    with atomic_path(out_path) as tmp:
        tmp.write_text(caption_rst(summary), encoding="utf-8")
    return summary


# ----------------------------------------------------------------------------- report


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def markdown_table(numbers: pd.DataFrame) -> str:
    """The numbers table in GitHub-flavoured Markdown."""
    header, rows = display_table(numbers)
    lines = [
        "| " + " | ".join(_md_cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(numbers: pd.DataFrame) -> str:
    """The numbers table as an HTML table (text escaped)."""
    header, rows = display_table(numbers)
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>{body}</tbody>\n</table>"


REPORT_TITLE = "MLDS 2018 HW1, reproduced"
REPORT_INTRO = (
    "Written by the workflow from the figure tables (results/tables/*.parquet) and the "
    "configuration: every setting, number and observation below is computed from them."
)


def ordered(figures: Sequence[str]) -> list[str]:
    """``figures`` in the homework's order (unknown names last, in the given order)."""
    known = [f for f in FIGURE_ORDER if f in figures]
    return known + [f for f in figures if f not in FIGURE_INFO]


def report_markdown(summaries: Sequence[FigureSummary], images: Mapping[str, str]) -> str:
    """The report as Markdown; ``images`` maps figure -> link relative to the report."""
    out = [f"# {REPORT_TITLE}", "", REPORT_INTRO, ""]
    for part, name in PARTS.items():
        items = [s for s in summaries if s.part == part]
        if not items:
            continue
        out += [f"## {part} {name}", ""]
        for s in items:
            out += [f"### {s.title}", "", f"Figure `{s.figure}`. Setup:", ""]
            out += [f"- {x}" for x in s.settings]
            out += ["", f"![{s.figure}]({images[s.figure]})", ""]
            out += [f"Final numbers ({s.note}):" if s.note else "Final numbers:", ""]
            out += [markdown_table(s.numbers), "", f"**Observation.** {s.observation}", ""]
    return "\n".join(out)


HTML_STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
    "img{max-width:100%}table{border-collapse:collapse;margin:.5em 0}"
    "th,td{border:1px solid #bbb;padding:.2em .5em;text-align:left}th{background:#eee}"
)


def report_html(summaries: Sequence[FigureSummary], images: Mapping[str, str]) -> str:
    """The same report as a standalone HTML page (images linked relative to the page)."""
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(REPORT_TITLE)}</title><style>{HTML_STYLE}</style></head><body>",
        f"<h1>{e(REPORT_TITLE)}</h1>",
        f"<p>{e(REPORT_INTRO)}</p>",
    ]
    for part, name in PARTS.items():
        items = [s for s in summaries if s.part == part]
        if not items:
            continue
        out.append(f'<h2 id="part-{e(part)}">{e(part)} {e(name)}</h2>')
        for s in items:
            out.append(f'<section id="{e(s.figure)}"><h3>{e(s.title)}</h3>')
            out.append(f"<p>Figure <code>{e(s.figure)}</code>. Setup:</p>")
            out.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in s.settings) + "</ul>")
            out.append(
                f'<figure><img src="{e(images[s.figure], quote=True)}" alt="{e(s.figure)}">'
                "</figure>"
            )
            out.append(f"<p>Final numbers{f' ({e(s.note)})' if s.note else ''}:</p>")
            out.append(html_table(s.numbers))
            out.append(f"<p><strong>Observation.</strong> {e(s.observation)}</p></section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def build_report(
    tables: Mapping[str, str | os.PathLike],
    figures: Mapping[str, str | os.PathLike],
    config: Mapping[str, Any],
    out_md: str | os.PathLike,
    out_html: str | os.PathLike,
) -> list[FigureSummary]:
    """Write ``report.md`` and ``report.html`` from the figure tables (figure -> table
    path) and images (figure -> PNG path), sections and figures in the homework's order."""
    missing = [f for f in tables if f not in figures]
    if missing:
        raise KeyError(f"no figure image given for {missing}")
    summaries = [summarize(f, read_parquet(tables[f]), config) for f in ordered(list(tables))]
    for path, render in ((out_md, report_markdown), (out_html, report_html)):
        base = Path(path).resolve().parent
        links = {
            f: Path(os.path.relpath(Path(p).resolve(), base)).as_posix() for f, p in figures.items()
        }
        with atomic_path(path) as tmp:
            tmp.write_text(render(summaries, links), encoding="utf-8")
    return summaries
