"""Part 1-3 figures (generalization): random labels, parameter count, interpolation,
sensitivity and sharpness vs batch size."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hw1 import papers
from hw1.figures.common import band, colors, new_grid, rows_by_dataset
from hw1.runs import first_epoch_reaching

SPLIT_STYLE = {"train": "-", "test": "--"}


def _reached(df: pd.DataFrame, target: float) -> str:
    ep = first_epoch_reaching(df, target)
    if ep is None:
        return f"not reached in {int(df['epoch'].max())} epochs"
    return f"first at epoch {ep}"


def fig_random_labels(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    """Loss and accuracy per epoch with random and (dashed) true labels, a row per data set."""
    rows = rows_by_dataset(df)
    fig, grid = new_grid(style, len(rows), 2)
    cols = dict(zip(("train", "test"), colors(style, 2), strict=True))
    target = float(df["target_accuracy"].iloc[0])
    for axes, (prefix, rdf) in zip(grid, rows, strict=True):
        kinds = [k for k in ("random", "true") if k in set(rdf["labels"])]
        notes = []
        for kind in kinds:
            sub = rdf[rdf["labels"] == kind]
            ls = "-" if kind == "random" else "--"
            lw = 1.6 if kind == "random" else 1.0
            notes.append(f"{kind} labels: train acc ≥ {target:.0%} {_reached(sub, target)}")
            for split in ("train", "test"):
                s = sub[sub["split"] == split]
                lab = f"{kind} labels, {split}"
                band(axes[0], s, "epoch", "loss", cols[split], lab, ls=ls, lw=lw)
                band(axes[1], s, "epoch", "accuracy", cols[split], lab, ls=ls, lw=lw)
        axes[1].axhline(target, color="grey", lw=0.6, ls=":")
        axes[0].set_yscale("log")
        axes[0].set_ylabel("cross-entropy loss (full set)")
        axes[1].set_ylabel("accuracy (full set)")
        r = rdf.iloc[0]
        axes[0].set_title(
            f"{prefix}{r['model']} ({r['params']:,} params), {r['schedule']}", fontsize="small"
        )
        axes[1].set_title(prefix + "\n".join(notes), fontsize="small")
        for ax in axes:
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
        axes[1].legend(fontsize="small", loc="center right")
    r = df.iloc[0]
    n_seeds = df["seed"].nunique()
    fig.suptitle(
        f"Random training labels (test labels true): batch {r['batch_size']}, "
        f"{n_seeds} seed{'s' if n_seeds > 1 else ''}"
        + (" (mean over seeds)" if n_seeds > 1 else ""),
        fontsize="medium",
    )
    fig.tight_layout()
    return fig


def fig_params_vs_generalization(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    """Final loss and accuracy against the parameter count, a row per data set."""
    rows = rows_by_dataset(df)
    fig, grid = new_grid(style, len(rows), 2)
    cols = dict(zip(("train", "test"), colors(style, 2), strict=True))
    for axes, (prefix, rdf) in zip(grid, rows, strict=True):
        for ax, col in zip(axes, ("loss", "accuracy"), strict=True):
            for split in ("train", "test"):
                s = rdf[rdf["split"] == split]
                band(
                    ax, s, "params", col, cols[split], f"{split} (mean, min-max)", marker="o", ms=3
                )
                ok = s[~s["diverged"]]
                ax.scatter(ok["params"], ok[col], s=6, color=cols[split], alpha=0.6, lw=0)
            ax.set_xscale("log")
            ax.set_xlabel("number of parameters")
            ax.set_ylabel(f"final {col} (full set)")
            ax.set_title(f"{prefix}final {col}", fontsize="small")
            ax.grid(alpha=0.3, which="both")
        axes[0].set_yscale("log")
        axes[0].legend(fontsize="small")
    n_seeds = df["seed"].nunique()
    fig.suptitle(
        f"{df['model'].nunique()} models ({df['hidden'].iloc[0]} … "
        f"{df['hidden'].iloc[-1]}), {n_seeds} seeds each; after {df['epochs'].iloc[0]} epochs "
        f"of {df['schedule'].iloc[0]}",
        fontsize="medium",
    )
    fig.tight_layout()
    return fig


def fig_interpolation(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    """Loss and accuracy along θ(α) of every pair (columns), a row per data set."""
    rows = rows_by_dataset(df)
    pairs = list(dict.fromkeys(df["pair"]))
    fig, grid = new_grid(style, len(rows), len(pairs))
    c_loss, c_acc = colors(style, 2)
    twins = []
    for axes, (prefix, rdf) in zip(grid, rows, strict=True):
        for ax, pair in zip(axes, pairs, strict=True):
            sub = rdf[rdf["pair"] == pair]
            ax2 = ax.twinx()
            twins.append(ax2)
            for split in ("train", "test"):
                s = sub[sub["split"] == split].sort_values("alpha")
                ls = SPLIT_STYLE[split]
                ax.plot(s["alpha"], s["loss"], ls, color=c_loss, label=f"{split} loss")
                ax2.plot(s["alpha"], s["accuracy"], ls, color=c_acc, label=f"{split} accuracy")
            for a in (0.0, 1.0):
                ax.axvline(a, color="grey", lw=0.6, ls=":")
            r = sub.iloc[0]
            ax.set_yscale("log")
            ax.set_xlabel("α   (θ = (1 − α) θ₁ + α θ₂)")
            ax.set_ylabel("cross-entropy loss (log)", color=c_loss)
            ax2.set_ylabel("accuracy", color=c_acc)
            ax2.set_ylim(-0.02, 1.02)
            ax.set_title(
                f"{prefix}{pair}: θ₁ = {r['model1']} (α=0), θ₂ = {r['model2']} (α=1)\n"
                f"θ₁: {r['label1']}\nθ₂: {r['label2']}",
                fontsize="small",
            )
            ax.grid(alpha=0.3)
            for a, name in ((0.0, "θ₁"), (1.0, "θ₂")):
                ax.annotate(
                    name,
                    (a, 0.01),
                    xycoords=("data", "axes fraction"),
                    ha="left",
                    va="bottom",
                    fontsize="small",
                )
    h1, l1 = grid[0][0].get_legend_handles_labels()
    h2, l2 = twins[0].get_legend_handles_labels()
    fig.legend(h1 + h2, l1 + l2, loc="lower center", ncol=4, fontsize="small")
    r = df.iloc[0]
    fig.suptitle(
        f"Linear interpolation between two trained models ({r['model']}, seed {r['seed']} "
        f"of each: same initial weights), both trained {r['epochs']} epochs; full train and "
        "test sets",
        fontsize="medium",
    )
    fig.tight_layout(rect=(0, 0.07 / len(rows), 1, 1))
    return fig


def _batch_axis(ax, df: pd.DataFrame) -> None:
    sizes = sorted(df["batch_size"].unique())
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training batch size")
    ax.grid(alpha=0.3)


def _mark_undertrained(ax, df: pd.DataFrame) -> None:
    """Shade the batch sizes marked undertrained (the table's ``undertrained``), one legend
    entry naming the criterion."""
    low = sorted(df.loc[df["undertrained"].astype(bool), "batch_size"].unique())
    margin = float(df["undertrained_margin"].iloc[0])
    for i, b in enumerate(low):
        label = f"undertrained: train acc > {margin:.1%} below the best" if i == 0 else None
        ax.axvspan(b / 2**0.3, b * 2**0.3, color="0.5", alpha=0.18, lw=0, label=label)


def _caption(df: pd.DataFrame) -> str:
    r = df.iloc[0]
    return (
        f"{r['model']} ({r['params']:,} params), {r['optimizer'].capitalize()} lr "
        f"{r['lr']:g}, {r['epochs']} epochs at every batch size, {df['seed'].nunique()} seeds "
        "(mean, min-max)"
    )


def _subset(df: pd.DataFrame, used: str, total: str, split: str) -> str:
    n, of = int(df[used].iloc[0]), int(df[total].iloc[0])
    if n >= of:
        return f"all {of:,} {split} examples"
    return f"the first {n:,} of the {of:,} {split} examples"


def fig_sensitivity(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    """Final loss, accuracy and sensitivity against the batch size, a row per data set."""
    rows = rows_by_dataset(df)
    fig, grid = new_grid(style, len(rows), 3)
    cols = colors(style, 3)
    for axes, (prefix, rdf) in zip(grid, rows, strict=True):
        for ax, col in zip(axes[:2], ("loss", "accuracy"), strict=True):
            for c, split in zip(cols[:2], ("train", "test"), strict=True):
                s = rdf[rdf["split"] == split]
                band(ax, s, "batch_size", col, c, split, ls=SPLIT_STYLE[split], marker="o", ms=3)
            ax.set_ylabel(f"final {col} (full set)")
            ax.set_title(f"{prefix}final {col}", fontsize="small")
            _batch_axis(ax, rdf)
            ax.legend(fontsize="small")
        axes[0].set_yscale("log")
        s = rdf[rdf["split"] == "test"]
        band(axes[2], s, "batch_size", "sensitivity", cols[2], "sensitivity", marker="o", ms=3)
        axes[2].set_ylabel("sensitivity  mean‖∂softmax/∂x‖_F")
        axes[2].set_title(f"{prefix}sensitivity", fontsize="small")
        _batch_axis(axes[2], rdf)
        for ax in axes:
            _mark_undertrained(ax, rdf)
        axes[0].legend(fontsize="small")
    fig.suptitle(
        _caption(df) + "\nsensitivity: Frobenius norm of the Jacobian of the softmax output "
        "w.r.t. the input, per test example, averaged over "
        + _subset(df, "sensitivity_examples", "test_size", "test"),
        fontsize="medium",
    )
    fig.tight_layout()
    return fig


def fig_sharpness(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    """ε-sharpness, top Hessian eigenvalue and the generalization gap in loss and in accuracy
    against the batch size, a row per data set; undertrained batch sizes shaded (their gap
    is not the minimum's alone)."""
    rows = rows_by_dataset(df)
    fig, grid = new_grid(style, len(rows), 4)
    cols = colors(style, 4)
    for axes, (prefix, rdf) in zip(grid, rows, strict=True):
        s = rdf[rdf["split"] == "train"]
        band(axes[0], s, "batch_size", "sharpness", cols[0], "ε-sharpness", marker="o", ms=3)
        axes[0].set_ylabel(f"ε-sharpness (%), ε = {rdf['eps'].iloc[0]:g}")
        axes[0].set_title(f"{prefix}ε-sharpness", fontsize="small")
        band(axes[1], s, "batch_size", "top_eigenvalue", cols[1], "λ_max", marker="o", ms=3)
        axes[1].set_ylabel("top Hessian eigenvalue λ_max")
        axes[1].set_title(f"{prefix}top Hessian eigenvalue", fontsize="small")
        ev = s["top_eigenvalue"]
        if (ev > 0).all() and ev.max() > 20 * ev.min():
            axes[1].set_yscale("log")
        for ax, col, c, (sign, what) in (
            (axes[2], "loss", cols[2], (1.0, "test − train loss")),
            (axes[3], "accuracy", cols[3], (-1.0, "train − test accuracy")),
        ):
            wide = rdf.pivot_table(index=["batch_size", "seed"], columns="split", values=col)
            gap = (sign * (wide["test"] - wide["train"])).rename("gap").reset_index()
            band(ax, gap, "batch_size", "gap", c, what, marker="o", ms=3)
            ax.set_ylabel(f"generalization gap ({what})")
            ax.set_title(f"{prefix}gap in {col}", fontsize="small")
        for ax in axes:
            _batch_axis(ax, rdf)
            _mark_undertrained(ax, rdf)
        if rdf["undertrained"].astype(bool).any():
            axes[3].legend(fontsize="small")
    fig.suptitle(
        _caption(df)
        + "\nsharpness of the training loss over "
        + _subset(df, "sharpness_examples", "train_size", "training")
        + ": Keskar ε-sharpness (box |δᵢ| ≤ ε(|θᵢ|+1), projected ascent) and λ_max of the "
        "Hessian (Lanczos)",
        fontsize="medium",
    )
    fig.tight_layout()
    return fig


def _keskar_points(ax, xs: list[float], vals: list[pd.Series], color, label: str, marker: str):
    """Mean (marker) and min-max over seeds (error bar) of each ``vals`` at ``xs``."""
    mean = [v.mean() for v in vals]
    err = [[m - v.min() for m, v in zip(mean, vals, strict=True)],
           [v.max() - m for m, v in zip(mean, vals, strict=True)]]  # fmt: skip
    ax.errorbar(xs, mean, yerr=err, fmt=marker, color=color, label=label, capsize=3, ms=6)


def _paper_points(ax, xs: list[float], reported: list, color) -> None:
    ax.errorbar(
        xs, [r.mean for r in reported], yerr=[r.sd for r in reported], fmt="o", mfc="none",
        color=color, capsize=3, ms=7, label="Keskar et al.'s network F1, Tables 2-4",
    )  # fmt: skip


def fig_keskar(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    """Keskar et al.'s protocol, a row per data set: final training and test accuracy of SB
    and LB; Metric 2.1 in the full space (L-BFGS-B and our projected ascent) and in a random
    subspace (L-BFGS-B), per ε; the paper's F1 numbers beside ours on the data set F1 was
    trained on (hollow circles, ± the paper's sd)."""
    rows = rows_by_dataset(df)
    fig, grid = new_grid(style, len(rows), 3)
    cols = colors(style, 3)
    eps_list = sorted(df["eps"].unique(), reverse=True)
    for axes, (prefix, rdf) in zip(grid, rows, strict=True):
        paper = rdf["dataset"].iloc[0] == papers.KESKAR_F1_DATASET
        one = rdf[(rdf["method"] == "L-BFGS-B") & (rdf["space"] == "full")]
        one = one[one["eps"] == eps_list[0]]
        ticks, vals, reported = [], [], []
        for split, regime in ((s, r) for s in ("train", "test") for r in ("SB", "LB")):
            ticks.append(f"{regime} {split}")
            vals.append(100 * one.loc[one["regime"] == regime, f"{split}_accuracy"])
            reported.append(papers.KESKAR_F1_ACCURACY[split][regime])
        xs = list(range(len(ticks)))
        _keskar_points(axes[0], xs, vals, cols[0], "ours", "s")
        if paper:
            _paper_points(axes[0], [x + 0.2 for x in xs], reported, "black")
        axes[0].set_xticks(xs, ticks)
        axes[0].set_ylabel("final accuracy (%)")
        axes[0].set_title(f"{prefix}accuracy (Table 2)", fontsize="small")
        for ax, space, table in ((axes[1], "full", "Table 3"), (axes[2], "subspace", "Table 4")):
            ticks, xs, reported = [], [], []
            methods = ["L-BFGS-B", "projected ascent"] if space == "full" else ["L-BFGS-B"]
            for j, method in enumerate(methods):
                sub = rdf[(rdf["method"] == method) & (rdf["space"] == space)]
                pts, vals = [], []
                for i, (eps, regime) in enumerate((e, r) for e in eps_list for r in ("SB", "LB")):
                    pts.append(i + 0.2 * j)
                    vals.append(
                        sub.loc[(sub["eps"] == eps) & (sub["regime"] == regime), "sharpness"]
                    )
                    if j == 0:
                        ticks.append(f"{regime}\nε={eps:g}")
                        xs.append(i)
                        reported.append(papers.KESKAR_F1_SHARPNESS[space].get(eps, {}).get(regime))
                mk = "s" if method == "L-BFGS-B" else "^"
                _keskar_points(ax, pts, vals, cols[1 + j], f"ours, {method}", mk)
            have = [(x, r) for x, r in zip(xs, reported, strict=True) if r is not None]
            if paper and have:
                _paper_points(ax, [x - 0.2 for x, _ in have], [r for _, r in have], "black")
            ax.set_xticks(xs, ticks)
            ax.set_yscale("log")
            ax.set_ylabel("sharpness, Metric 2.1 (%)")
            where = (
                "full space, A = I"
                if space == "full"
                else f"random {int(rdf['subspace'].iloc[0])}-dim subspace"
            )
            ax.set_title(f"{prefix}sharpness, {where} ({table})", fontsize="small")
        for ax in axes:
            ax.grid(alpha=0.3)
        # the legend above the points: headroom on the log axis, none covered
        lo, hi = axes[1].get_ylim()
        axes[1].set_ylim(lo, hi * 40)
        axes[1].legend(fontsize="small", loc="upper left")
    r = df.iloc[0]
    fig.suptitle(
        f"{r['model']} ({r['params']:,} params), Adam, small batch (SB) vs large batch (LB), "
        f"trained until the full training loss stopped improving (at most {r['epoch_limit']} "
        f"epochs)\nsharpness over {_subset(df, 'sharpness_examples', 'train_size', 'training')}"
        f", {int(r['iterations'])} L-BFGS-B iterations",
        fontsize="medium",
    )
    fig.tight_layout()
    return fig


MEASURE_LABELS = {
    "sensitivity": "sensitivity ‖∂softmax/∂x‖_F",
    "sharpness": "ε-sharpness (%)",
    "top_eigenvalue": "λ_max of the Hessian",
    "param_norm": "parameter norm ‖θ‖₂",
    "params": "parameter count",
}
GAP_LABELS = {"loss_gap": "test − train loss", "accuracy_gap": "train − test accuracy"}


def fig_generalization_measures(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    """Every measured model of the study, a row per data set: the gap in accuracy against
    each measure (log x, symmetric-log y; colour: experiment; hollow: random labels), with
    Kendall's τ and its interval in the title; last panel: τ (bars, with intervals) of each
    measure with the gap in loss and in accuracy, and Ψ (dots, the granulated coefficient)."""
    rows = rows_by_dataset(df)
    measures = list(dict.fromkeys(m for m in MEASURE_LABELS if m in set(df["measure"])))
    fig, grid = new_grid(style, len(rows), len(measures) + 1)
    experiments = list(dict.fromkeys(df["experiment"]))
    cols = dict(zip(experiments, colors(style, len(experiments)), strict=True))
    for axes, (prefix, rdf) in zip(grid, rows, strict=True):
        for ax, measure in zip(axes, measures, strict=False):
            m = rdf[rdf["measure"] == measure]
            for exp in experiments:
                e = m[m["experiment"] == exp]
                for random, sub in e.groupby(e["labels"] == "random"):
                    ax.scatter(
                        sub["value"], 100 * sub["accuracy_gap"], s=18, color=cols[exp],
                        facecolors="none" if random else cols[exp],
                        label=f"{exp}{' (random labels)' if random else ''}",
                    )  # fmt: skip
            r = m.iloc[0]
            # λ_max can be ≤ 0 at a point that is not a minimum: a symmetric log axis then
            ax.set_xscale("log" if (m["value"] > 0).all() else "symlog")
            # random labels' ~90-point gap beside the others' 0-10: linear below 1 point,
            # logarithmic above, so both are readable (and a negative gap stays plottable)
            ax.set_yscale("symlog", linthresh=1.0)
            gap = 100 * rdf["accuracy_gap"]
            ax.set_ylim(min(-0.5, 1.5 * gap.min()), max(0.5, 1.6 * gap.max()))
            ax.set_xlabel(MEASURE_LABELS[measure])
            ax.set_title(
                f"{prefix}τ = {r['tau_accuracy_gap']:.2f} "
                f"[{r['tau_accuracy_gap_low']:.2f}, {r['tau_accuracy_gap_high']:.2f}], "
                f"Ψ = {r['Psi_accuracy_gap']:.2f}",
                fontsize="small",
            )
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("train − test accuracy (points, symlog)")
        ax = axes[len(measures)]
        first = rdf.drop_duplicates("measure").set_index("measure")
        ys = np.arange(len(measures))
        for k, (gap, color) in enumerate(zip(GAP_LABELS, colors(style, 2), strict=True)):
            tau = first.loc[measures, f"tau_{gap}"].to_numpy()
            lo = tau - first.loc[measures, f"tau_{gap}_low"].to_numpy()
            hi = first.loc[measures, f"tau_{gap}_high"].to_numpy() - tau
            y = ys + (k - 0.5) * 0.38
            ax.barh(y, tau, height=0.36, color=color, alpha=0.7, label=f"τ, {GAP_LABELS[gap]}")
            ax.errorbar(tau, y, xerr=[lo, hi], fmt="none", color="black", capsize=2, lw=0.8)
            ax.plot(first.loc[measures, f"Psi_{gap}"], y, "o", color="black", ms=4,
                    label="Ψ (granulated)" if k else None)  # fmt: skip
        ax.set_yticks(ys, [MEASURE_LABELS[m] for m in measures], fontsize="small")
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_xlim(-1, 1)
        ax.set_xlabel("Kendall's τ with the gap")
        ax.set_title(f"{prefix}τ over {int(first['n_models'].iloc[0])} models",
                     fontsize="small")  # fmt: skip
        ax.legend(fontsize="x-small", loc="lower left")
        axes[0].legend(fontsize="x-small")
    a = df.attrs
    fig.suptitle(
        "Generalization measures across the study: every trained classifier, measured alike"
        + (f" (ε = {a['eps']:g}, {a['ascent_steps']} ascent steps, ≤ {a['hessian_iters']} "
           "Hessian-vector products)" if "eps" in a else ""),
        fontsize="medium",
    )  # fmt: skip
    fig.tight_layout()
    return fig
