"""Report summaries of the Part 1-2 figures (optimization): each turns its figure's table and
the config into a :class:`~hw1.summaries.common.FigureSummary`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hw1.summaries.common import (
    OPTIMIZERS,
    FigureSummary,
    data_lines,
    fmt,
    fmt_pct,
    training_lines,
)


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
    return FigureSummary.of(
        "pca_trajectories", settings, nums, obs, "explained-variance share of each PCA plane"
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
    return FigureSummary.of(
        "grad_norm",
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
    return FigureSummary.of(
        "minimal_ratio", settings, nums, obs, "after phase 2, by whether the run converged"
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
    return FigureSummary.of(
        "error_surface",
        settings,
        nums,
        obs,
        "loss: mean cross-entropy; the last rows give shares (0-1)",
    )
