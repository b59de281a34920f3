"""Part 1-2 figures: PCA of weight trajectories, gradient norm, minimal ratio, error surface."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hw1.datasets import is_dataset
from hw1.figures.common import colors, new_figure, plt

PART_TITLES = {"whole": "whole model", "layer1": "first layer only"}


def fig_pca_trajectories(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    """Two panels (whole model, first layer): each run's trajectory in its PCA plane, markers
    coloured by training accuracy, start (square) and end (star) marked."""
    parts = list(dict.fromkeys(df["part"]))
    runs = sorted(df["run"].unique())
    fig, axes = new_figure(style, len(parts))
    cols = colors(style, len(runs))
    norm = mcolors.Normalize(vmin=float(df["accuracy"].min()), vmax=float(df["accuracy"].max()))
    cmap = plt.get_cmap("viridis")
    for ax, part in zip(axes, parts, strict=True):
        sub = df[df["part"] == part]
        for c, run in zip(cols, runs, strict=True):
            r = sub[sub["run"] == run].sort_values("epoch")
            ax.plot(r["pc1"], r["pc2"], "-", color=c, lw=1.2, zorder=1)
            ax.scatter(
                r["pc1"],
                r["pc2"],
                c=r["accuracy"],
                cmap=cmap,
                norm=norm,
                s=22,
                edgecolors=[c],
                linewidths=0.8,
                zorder=2,
            )
            first, last = r.iloc[0], r.iloc[-1]
            ax.plot(first["pc1"], first["pc2"], "s", ms=9, mfc="none", mec=c, mew=1.6, zorder=3)
            ax.plot(last["pc1"], last["pc2"], "*", ms=13, color=c, mec="black", mew=0.5, zorder=3)
            ax.annotate(
                f"{last['accuracy']:.1%}",
                (last["pc1"], last["pc2"]),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize="x-small",
                color=c,
                zorder=4,
            )
        ax.margins(0.08)
        evr1, evr2, n = sub["evr1"].iloc[0], sub["evr2"].iloc[0], sub["n_params"].iloc[0]
        ax.set_xlabel(f"PC1 ({evr1:.1%} of variance)")
        ax.set_ylabel(f"PC2 ({evr2:.1%} of variance)")
        ax.set_title(f"{PART_TITLES.get(part, part)} ({n:,} parameters)")
    fig.subplots_adjust(left=0.07, right=0.9, bottom=0.2, top=0.86, wspace=0.25)
    cax = fig.add_axes((0.92, 0.2, 0.012, 0.66))
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax, label="training accuracy")
    handles = [
        Line2D([], [], color=c, marker="o", ms=4, label=f"run {r}")
        for c, r in zip(cols, runs, strict=True)
    ]
    handles += [
        Line2D([], [], ls="", marker="s", mfc="none", mec="gray", ms=8, label="start (epoch 0)"),
        Line2D([], [], ls="", marker="*", color="gray", ms=11, label="end (label: final acc.)"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize="x-small")
    model = df.attrs.get("model", "")
    epochs = sorted(df["epoch"].unique())
    step = epochs[1] - epochs[0] if len(epochs) > 1 else 0
    fig.suptitle(
        f"{df.attrs.get('dataset', '')} {model}: {len(runs)} training runs, weights every "
        f"{step} epochs "
        f"(0-{epochs[-1]}), PCA fitted per panel on all runs and epochs"
    )
    return fig


def _running_mean(v: pd.Series, window: int) -> pd.Series:
    return v.rolling(window, center=True, min_periods=1).mean()


def fig_grad_norm(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    """One panel per case: minibatch loss (left axis) and gradient norm (right axis) at every
    iteration, both log scale (the lowest seed of each case); thin lines are the raw values,
    thick lines their running mean over 1% of the iterations."""
    cases = list(dict.fromkeys(df["case"]))
    fig, axes = new_figure(style, len(cases))
    c_loss, c_grad = colors(style, 2)
    for ax, case in zip(axes, cases, strict=True):
        sub = df[df["case"] == case]
        seed = sub["seed"].min()
        r = sub[sub["seed"] == seed].sort_values("step")
        win = max(1, len(r) // 100)
        ax2 = ax.twinx()
        for axis, col, c in ((ax, "loss", c_loss), (ax2, "grad_norm", c_grad)):
            if win > 1:
                axis.plot(r["step"], r[col], color=c, lw=0.5, alpha=0.35)
                axis.plot(r["step"], _running_mean(r[col], win), color=c, lw=1.6)
            else:
                axis.plot(r["step"], r[col], color=c, lw=1)
            axis.set_yscale("log")
            axis.tick_params(axis="y", colors=c)
        ax.set_xlabel("iteration (minibatch update)")
        ax.set_ylabel("minibatch training loss", color=c_loss)
        ax2.set_ylabel("gradient norm ‖∇θL‖₂ (minibatch)", color=c_grad)
        loss_name = "cross-entropy" if is_dataset(r["dataset"].iloc[0]) else "MSE"
        n_seeds = sub["seed"].nunique()
        ax.set_title(
            f"{case}: {r['dataset'].iloc[0]}, {r['model'].iloc[0]} "
            f"({r['n_params'].iloc[0]:,} params), {loss_name}, batch {r['batch_size'].iloc[0]}"
            + (f"\nseed {seed} of {n_seeds}" if n_seeds > 1 else ""),
            fontsize="small",
        )
        handles = [
            Line2D([], [], color=c_loss, label="loss"),
            Line2D([], [], color=c_grad, label="gradient norm"),
        ]
        if win > 1:
            handles += [
                Line2D([], [], color="gray", lw=0.5, label="every iteration"),
                Line2D([], [], color="gray", lw=1.6, label=f"running mean of {win}"),
            ]
        ax.legend(handles=handles, fontsize="x-small", loc="upper right")
    fig.suptitle("Training loss and gradient norm at every iteration")
    fig.tight_layout()
    return fig


# tolerances of the ratio-vs-tolerance panel: nine decades around the usual 1e-6
TOLERANCE_SWEEP = np.logspace(-10, -1, 37)


def ratio_at(eigenvalues: np.ndarray, tol: float) -> tuple[float, float]:
    """(share of all eigenvalues > tol, share positive among those with |λ| > tol)."""
    ev = np.asarray(eigenvalues, dtype=np.float64)
    pos, neg = int((ev > tol).sum()), int((ev < -tol).sum())
    return pos / ev.size, (pos / (pos + neg) if pos + neg else float("nan"))


def spectrum_runs(df: pd.DataFrame, k: int = 4) -> pd.DataFrame:
    """A few runs whose spectra are drawn: converged runs (else all) at evenly spaced
    quantiles of the loss, lowest to highest."""
    pool = df[df["converged"]] if df["converged"].any() else df
    pool = pool.sort_values("loss", kind="stable")
    idx = np.unique(np.round(np.linspace(0, len(pool) - 1, min(k, len(pool)))).astype(int))
    return pool.iloc[idx]


def fig_minimal_ratio(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    """Three panels. (a) As in the homework: loss (y) against minimal ratio (x) after phase 2,
    every run (converged: circles, others: crosses), the ratio counted with each run's
    scale-aware zero band (``tol`` column). (b) The spectra of a few runs: sorted |λ| on a log
    axis, positive filled, negative open, each run's zero band dashed. (c) The ratio across
    absolute tolerances over nine decades (median and range over the converged runs): share
    of all eigenvalues and share among the clearly non-zero ones."""
    a = df.attrs
    fig, axes = new_figure(style, 3)
    c_ok, c_no = colors(style, 2)
    conv = df[df["converged"]]
    rest = df[~df["converged"]]
    thr = a.get("threshold", float("nan"))
    ax = axes[0]
    ax.scatter(
        conv["minimal_ratio"],
        conv["loss"],
        marker="o",
        s=24,
        color=c_ok,
        alpha=0.8,
        label=f"converged (‖∇L‖ < {thr:g}): {len(conv)}",
    )
    ax.scatter(
        rest["minimal_ratio"],
        rest["loss"],
        marker="x",
        s=28,
        color=c_no,
        alpha=0.8,
        label=f"not converged in {a.get('max_steps', '?')} steps: {len(rest)}",
    )
    ax.set_yscale("log")
    ax.set_xlabel("minimal ratio (share of Hessian eigenvalues > zero band)")
    ax.set_ylabel("training loss (MSE, full batch) after phase 2")
    ax.set_title("(a) loss vs minimal ratio", fontsize="small")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)

    ax = axes[1]
    shown = spectrum_runs(df)
    for c, (_, r) in zip(colors(style, len(shown)), shown.iterrows(), strict=True):
        ev = np.asarray(r["eigenvalues"], dtype=np.float64)
        order = np.argsort(-np.abs(ev), kind="stable")
        mag, sign = np.abs(ev[order]), ev[order] > 0
        rank = np.arange(1, ev.size + 1)
        mag = np.maximum(mag, 1e-300)  # exact zeros stay on the log axis
        lab = f"run {int(r['run'])}: loss {r['loss']:.2g}, ratio {r['minimal_ratio']:.2f}"
        ax.plot(rank, mag, color=c, lw=0.8, label=lab)
        ax.scatter(rank[sign], mag[sign], s=10, color=c)
        ax.scatter(rank[~sign], mag[~sign], s=14, facecolors="none", edgecolors=c)
        ax.axhline(r["tol"], color=c, ls="--", lw=0.7)
    ax.set_yscale("log")
    ax.set_xlabel("eigenvalue rank (by |λ|)")
    ax.set_ylabel("|λ| (filled: λ > 0, open: λ < 0; dashed: zero band)")
    ax.set_title("(b) Hessian spectra of a few runs", fontsize="small")
    ax.legend(fontsize="x-small")
    ax.grid(alpha=0.3)

    ax = axes[2]
    pool = conv if len(conv) else df
    all_r = np.array([[ratio_at(ev, t)[0] for t in TOLERANCE_SWEEP] for ev in pool["eigenvalues"]])
    nz_r = np.array([[ratio_at(ev, t)[1] for t in TOLERANCE_SWEEP] for ev in pool["eigenvalues"]])
    for vals, c, lab in (
        (all_r, c_ok, "share of all eigenvalues"),
        (nz_r, c_no, "share among |λ| > tolerance"),
    ):
        ax.plot(TOLERANCE_SWEEP, np.nanmedian(vals, 0), color=c, label=lab)
        ax.fill_between(
            TOLERANCE_SWEEP, np.nanmin(vals, 0), np.nanmax(vals, 0), color=c, alpha=0.2, lw=0
        )
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("absolute tolerance on |λ|")
    ax.set_ylabel("minimal ratio (median, range)")
    ax.set_title(f"(c) ratio vs tolerance, {len(pool)} runs", fontsize="small")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)

    n_params = int(df["n_params"].iloc[0])
    fig.suptitle(
        f"{len(df)} runs of {a.get('model', '')} ({a.get('activation', '')}, {n_params} params) "
        f"on {a.get('dataset', '')}; phase 2: {a.get('optimizer', '')} lr {a.get('lr', '?')} "
        f"on ½‖∇L‖², ≤{a.get('max_steps', '?')} steps; converged: {len(conv)} of {len(df)}\n"
        f"zero band per run: |λ| ≤ max({a.get('tol', 0):g}, {a.get('rtol', float('nan')):g}·max|λ|,"
        f" ‖∇L‖) — median {df['n_near_zero'].median():.0f} of {n_params} eigenvalues in it",
        fontsize="small",
    )
    fig.tight_layout()
    return fig


def _contour(ax, a, b, loss, levels: int = 20):
    """Filled contour of log10(loss) on the grid given as tidy columns."""
    aa = np.unique(a)
    bb = np.unique(b)
    z = (
        pd.DataFrame({"a": a, "b": b, "z": np.log10(loss)})
        .pivot(index="b", columns="a", values="z")
        .loc[bb, aa]
        .to_numpy()
    )
    cs = ax.contourf(aa, bb, z, levels=levels, cmap="viridis")
    ax.contour(aa, bb, z, levels=cs.levels, colors="white", linewidths=0.3, alpha=0.5)
    return cs, aa, bb, z


def fig_error_surface(df: pd.DataFrame, style: Mapping[str, Any]) -> Figure:
    """Random-direction contour and 3-D surface around one trained model; then two runs'
    own trajectory planes (Li et al. 2018, sec. 7) with the path drawn on each (the other
    runs' planes are in the table)."""
    a = df.attrs
    fig, axes = new_figure(style, 4)
    surf = df[df["kind"] == "surface"]
    rnd = surf[surf["panel"] == "random"]

    ax = axes[0]
    cs, aa, bb, z = _contour(ax, rnd["a"], rnd["b"], rnd["loss"])
    ax.plot(0, 0, "*", color="red", ms=12, mec="white", label="trained model")
    ax.set_xlabel("direction 1 (filter-normalised)")
    ax.set_ylabel("direction 2 (filter-normalised)")
    ax.set_title("random directions: log10 loss", fontsize="small")
    ax.legend(fontsize="x-small", loc="upper right")
    fig.colorbar(cs, ax=ax, label="log10 loss")

    axes[1].remove()
    ax3 = fig.add_subplot(1, 4, 2, projection="3d")
    ag, bg = np.meshgrid(aa, bb)
    ax3.plot_surface(ag, bg, z, cmap="viridis", linewidth=0, antialiased=True)
    ax3.set_xlabel("direction 1", fontsize="x-small")
    ax3.set_ylabel("direction 2", fontsize="x-small")
    ax3.set_zlabel("log10 loss", fontsize="x-small")
    ax3.tick_params(labelsize="x-small")
    ax3.set_title("random directions: surface", fontsize="small")

    info = {r["run"]: r for r in a.get("pca_runs", [])}
    own = surf[surf["panel"] == "run"]
    traj = df[df["kind"] == "trajectory"]
    shown = sorted(own["run"].dropna().unique())[: len(axes) - 2]
    for ax, run, c in zip(axes[2:], shown, colors(style, max(len(shown), 1)), strict=False):
        sub = own[own["run"] == run]
        cs, *_ = _contour(ax, sub["a"], sub["b"], sub["loss"])
        fig.colorbar(cs, ax=ax, label="log10 loss")
        r = traj[traj["run"] == run].sort_values("epoch")
        ax.plot(r["a"], r["b"], "-o", color=c, ms=2.5, lw=1, mec="white", mew=0.3)
        ax.plot(r["a"].iloc[0], r["b"].iloc[0], "s", mfc="none", mec=c, ms=7, label="start")
        ax.plot(0, 0, "*", color=c, mec="white", mew=0.4, ms=12, label="end (on the plane)")
        evr = info.get(int(run), {}).get("evr", [float("nan")] * 2)
        off = info.get(int(run), {}).get("median_off_plane", float("nan"))
        ax.set_xlabel(f"PC1 of θ_i − θ_final ({evr[0]:.1%} of variance)")
        ax.set_ylabel(f"PC2 ({evr[1]:.1%})")
        ax.legend(fontsize="x-small", loc="upper right")
        ax.set_title(
            f"run {int(run)}: its own trajectory plane ({sum(evr):.1%} of the path's variance;\n"
            f"median {off:.0%} of a snapshot's deviation off it); own loss "
            f"{r['loss'].iloc[0]:.3g} → {r['loss'].iloc[-1]:.3g}",
            fontsize="small",
        )
    fig.suptitle(
        f"{a.get('dataset', '')} {a.get('model', '')} ({a.get('n_params', 0):,} params): "
        "mean cross-entropy on "
        f"{a.get('n_examples', '?'):,} training images; centre of the random panel: run "
        f"{a.get('center_seed', '?')} at epoch {a.get('center_epoch', '?')} (Li et al. 2018)",
        fontsize="small",
    )
    fig.tight_layout()
    return fig
