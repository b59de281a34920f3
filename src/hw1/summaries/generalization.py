"""Report summaries of the Part 1-3 figures (generalization): each turns its figure's table and
the config into a :class:`~hw1.summaries.common.FigureSummary`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hw1 import datasets, papers
from hw1.runs import first_epoch_reaching
from hw1.summaries.common import (
    SD,
    DatasetFindings,
    FigureSummary,
    data_lines,
    final_rows,
    fmt,
    fmt_pct,
    pearson,
    per_dataset,
    r_text,
    seed_note,
    seed_stats,
    stop_rule_text,
    training_lines,
)


def _random_labels_one(table: pd.DataFrame) -> DatasetFindings:
    """Numbers, observation and findings of one data set's random-label runs."""
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
            f"with random labels the training accuracy first reached {fmt_pct(target)} at "
            f"epoch {reach['random']} of {rnd['epochs']}"
        )
    else:
        head = (
            f"with random labels the training accuracy did not reach {fmt_pct(target)} in "
            f"{rnd['epochs']} epochs (final {fmt(rnd['final train accuracy'])})"
        )
    tail = f" while the test accuracy ended at {fmt(rnd['final test accuracy'])}"
    if "true" in reach:
        tail += (
            f"; with true labels it reached {fmt_pct(target)} at epoch {reach['true']}"
            if reach["true"] is not None
            else f"; with true labels it did not reach {fmt_pct(target)}"
        )
    ds = table["dataset"].iloc[0] if "dataset" in table else None
    chance = 1.0 / datasets.n_outputs(ds) if ds and datasets.is_dataset(ds) else 0.1
    findings = {
        f"random labels were memorised (training accuracy ≥ {fmt_pct(target)})": reach.get("random")
        is not None,
        f"test accuracy with random labels stayed within 2 points of chance "
        f"({fmt_pct(chance)})": abs(float(rnd["final test accuracy"]) - chance) <= 0.02,
    }
    if reach.get("random") is not None and reach.get("true") is not None:
        findings["random labels took longer to fit than true labels"] = (
            reach["random"] > reach["true"]
        )
    return DatasetFindings(nums, head + tail + ".", findings)


def summarize_random_labels(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Final metrics of the random- and true-label runs per data set; the epoch they reach
    the target; what holds on every data set."""
    nums, obs = per_dataset(table, _random_labels_one)
    r = table.iloc[0]
    settings = [
        f"model: {r['model']} ({fmt(int(r['params']))} parameters)",
        *data_lines(config, "random_labels"),
        *training_lines(config, "random_labels"),
        "random labels: fixed random training labels; the test labels stay true",
    ]
    return FigureSummary.of(
        "random_labels",
        settings,
        nums,
        obs[0].upper() + obs[1:],
        seed_note(table) + "; the target epoch is that of the mean over seeds",
    )


def _params_one(table: pd.DataFrame) -> DatasetFindings:
    """Numbers, observation and findings of one data set's model-size runs."""
    df = table[~table["diverged"].astype(bool)].sort_values("params", kind="stable")
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
        f"the highest final test accuracy, {fmt(top['final test accuracy'])}, belongs to "
        f"{top['model']} ({fmt(int(top['params']))} parameters); from the smallest model "
        f"({small['model']}) to the largest ({large['model']}) the final training loss goes from "
        f"{fmt(small['final train loss'])} to {fmt(large['final train loss'])} and the test − "
        f"train loss gap from {fmt(small['test − train loss'])} to "
        f"{fmt(large['test − train loss'])}."
    )
    return DatasetFindings(
        nums,
        obs,
        {
            "the largest model had the lowest mean final training loss": float(
                large["final train loss"]
            )
            == float(nums["final train loss"].min()),
            "the test − train loss gap was wider at the largest model than at the smallest": float(
                large["test − train loss"]
            )
            > float(small["test − train loss"]),
            "the best mean test accuracy was at neither the smallest nor the largest model": (
                top["model"] not in (small["model"], large["model"])
            ),
        },
    )


def summarize_params_vs_generalization(
    table: pd.DataFrame, config: Mapping[str, Any]
) -> FigureSummary:
    """Final metrics per model size and data set; best test accuracy and the trend of the
    gap; what holds on every data set."""
    keys = ["dataset", "model", "seed"] if "dataset" in table else ["model", "seed"]
    dropped = len(table[table["diverged"].astype(bool)].drop_duplicates(keys))
    nums, obs = per_dataset(table, _params_one)
    settings = [
        f"models: {fmt(table['model'].nunique())} one-hidden-layer MLPs, "
        f"{fmt(int(table['params'].min()))} to {fmt(int(table['params'].max()))} parameters",
        *data_lines(config, "params_vs_generalization"),
        *training_lines(config, "params_vs_generalization"),
    ]
    return FigureSummary.of(
        "params_vs_generalization",
        settings,
        nums,
        obs[0].upper() + obs[1:],
        seed_note(table, dropped),
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


def _interpolation_one(table: pd.DataFrame) -> DatasetFindings:
    """Barriers, observation and findings of one data set's interpolation paths."""
    nums = interpolation_barriers(table)
    tr = nums[nums["split"] == "train"]
    best = tr.loc[tr["barrier height"].idxmax()] if tr["barrier height"].notna().any() else None
    if best is not None and best["barrier height"] > 0:
        obs = (
            f"the highest training-loss barrier between α = 0 and 1 is in pair {best['pair']} "
            f"at α = {fmt(best['barrier α'])}: loss {fmt(best['loss at barrier'])}, "
            f"{fmt(best['barrier height'])} above the straight line between its ends "
            f"({fmt(best['loss at α = 0'])} at α = 0, {fmt(best['loss at α = 1'])} at α = 1)."
        )
    else:
        obs = (
            "no pair has a training-loss barrier: between α = 0 and 1 the loss stays at or "
            "below the straight line between its ends."
        )
    findings = {
        f"pair {r['pair']} has a training-loss barrier (loss above the straight line between "
        "its ends for some 0 < α < 1)": bool(r["barrier height"] > 0)
        for _, r in tr.iterrows()
    }
    return DatasetFindings(nums, obs, findings)


def summarize_interpolation(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """End losses and the highest loss barrier between α = 0 and 1 of every pair, per data
    set; what holds on every data set."""
    nums, obs = per_dataset(table, _interpolation_one)
    r = table.iloc[0]
    first = table[table["dataset"] == r["dataset"]] if "dataset" in table else table
    labels = first.drop_duplicates("model1")[["model1", "label1"]].values.tolist()
    labels += first.drop_duplicates("model2")[["model2", "label2"]].values.tolist()
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
            for p, g in first.groupby("pair", sort=False)
        ),
        f"path: θ(α) = (1 − α) θ₁ + α θ₂ at {fmt(len(alphas))} values of α from "
        f"{fmt(float(alphas.min()))} to {fmt(float(alphas.max()))}"
        + (f" (config: {fmt(int(a['steps']))} steps)" if "steps" in a else ""),
    ]
    return FigureSummary.of(
        "interpolation",
        settings,
        nums,
        obs[0].upper() + obs[1:],
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


def _undertrained(table: pd.DataFrame, nums: pd.DataFrame) -> str:
    """Marks the batch sizes the table calls undertrained in ``nums`` (a yes/no column) and
    returns the sentence that says so ("" if none)."""
    low = sorted(
        int(b) for b in table.loc[table["undertrained"].astype(bool), "batch_size"].unique()
    )
    nums["undertrained"] = ["yes" if int(b) in low else "no" for b in nums["batch size"]]
    if not low:
        return ""
    margin = float(table["undertrained_margin"].iloc[0])
    sizes = ", ".join(fmt(b) for b in low)
    return (
        f" Batch size{'s' if len(low) > 1 else ''} {sizes} did not reach the training accuracy "
        f"of the others (mean final training accuracy more than {margin:.1%} below the best "
        "batch size's): there the gap mixes the minimum's shape with unfinished training."
    )


def _sensitivity_one(table: pd.DataFrame) -> DatasetFindings:
    """Numbers, observation and findings of one data set's sensitivity per batch size."""
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
        f"across the {fmt(len(nums))} batch sizes the Pearson correlation between sensitivity "
        f"and test accuracy (means over seeds) is {r_text(r)}; sensitivity is lowest at batch "
        f"size {fmt(int(lo['batch size']))} ({fmt(lo['sensitivity'])}) and highest at "
        f"{fmt(int(hi['batch size']))} ({fmt(hi['sensitivity'])})."
    ) + _undertrained(df, nums)
    first, last = nums.iloc[0], nums.iloc[-1]
    return DatasetFindings(
        nums,
        obs,
        {
            "sensitivity correlated negatively with test accuracy (Pearson r < 0 over the "
            "batch-size means)": bool(r < 0),
            "sensitivity was higher at the largest batch size than at the smallest": bool(
                last["sensitivity"] > first["sensitivity"]
            ),
        },
    )


def summarize_sensitivity(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Final metrics and sensitivity per batch size and data set; correlation with test
    accuracy; what holds on every data set."""
    nums, obs = per_dataset(table, _sensitivity_one)
    row = table.iloc[0]
    n, of = int(row["sensitivity_examples"]), int(row["test_size"])
    settings = [
        *_flatness_settings(table, config),
        "sensitivity: Frobenius norm of the Jacobian of the softmax output w.r.t. the input, "
        f"averaged over {'all ' + fmt(of) if n >= of else f'the first {fmt(n)} of {fmt(of)}'} "
        "test examples",
    ]
    return FigureSummary.of(
        "sensitivity", settings, nums, obs[0].upper() + obs[1:], seed_note(table)
    )


def _sharpness_one(table: pd.DataFrame) -> DatasetFindings:
    """Numbers, observation and findings of one data set's sharpness per batch size."""
    df = table.sort_values("batch_size", kind="stable")
    gaps = []
    for col, sign, name in (("loss", 1.0, "gap"), ("accuracy", -1.0, "acc_gap")):
        wide = df.pivot_table(index=["batch_size", "seed"], columns="split", values=col)
        gaps.append((sign * (wide["test"] - wide["train"])).rename(name))
    gap = pd.concat(gaps, axis=1).reset_index()
    tr = df[df["split"] == "train"].merge(gap, on=["batch_size", "seed"])
    nums = seed_stats(
        tr,
        ["batch_size"],
        ["sharpness", "top_eigenvalue", "gap", "acc_gap"],
        ["ε-sharpness (%)", "top Hessian eigenvalue", "test − train loss", "train − test accuracy"],
    ).rename(columns={"batch_size": "batch size"})
    r = pearson(nums["ε-sharpness (%)"], nums["test − train loss"])
    first, last = nums.iloc[0], nums.iloc[-1]
    obs = (
        f"across the {fmt(len(nums))} batch sizes the Pearson correlation between ε-sharpness "
        f"and the generalization gap (test − train loss, means over seeds) is {r_text(r)}, and "
        f"the top Hessian eigenvalue goes from {fmt(first['top Hessian eigenvalue'])} at batch "
        f"size {fmt(int(first['batch size']))} to {fmt(last['top Hessian eigenvalue'])} at "
        f"{fmt(int(last['batch size']))}; the gap in accuracy (train − test) goes from "
        f"{fmt(first['train − test accuracy'])} to {fmt(last['train − test accuracy'])}."
    ) + _undertrained(df, nums)
    return DatasetFindings(
        nums,
        obs,
        {
            "ε-sharpness was higher at the largest batch size than at the smallest": bool(
                last["ε-sharpness (%)"] > first["ε-sharpness (%)"]
            ),
            "λ_max was higher at the largest batch size than at the smallest": bool(
                last["top Hessian eigenvalue"] > first["top Hessian eigenvalue"]
            ),
            "ε-sharpness correlated positively with the test − train loss gap (Pearson r > 0)": (
                bool(r > 0)
            ),
            "the gap in accuracy (train − test) was larger at the largest batch size than at "
            "the smallest": bool(last["train − test accuracy"] > first["train − test accuracy"]),
        },
    )


def summarize_sharpness(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """ε-sharpness, top Hessian eigenvalue and generalization gap per batch size and data
    set; what holds on every data set."""
    nums, obs = per_dataset(table, _sharpness_one)
    row = table.iloc[0]
    n, of = int(row["sharpness_examples"]), int(row["train_size"])
    settings = [
        *_flatness_settings(table, config),
        f"sharpness of the training loss over "
        f"{'all ' + fmt(of) if n >= of else f'the first {fmt(n)} of {fmt(of)}'} training "
        f"examples: Keskar ε-sharpness with ε = {fmt(float(row['eps']))} (projected ascent) "
        "and the top Hessian eigenvalue (Lanczos)",
    ]
    return FigureSummary.of("sharpness", settings, nums, obs[0].upper() + obs[1:], seed_note(table))


def _keskar_one(table: pd.DataFrame) -> DatasetFindings:
    """Numbers, observation and findings of one data set's Keskar protocol runs; on the data
    set of the paper's network F1, its rows beside ours (hw1.papers)."""
    rows = []
    for regime in ("SB", "LB"):
        reg = table[table["regime"] == regime]
        one = reg[(reg["method"] == "L-BFGS-B") & (reg["space"] == "full")]
        one = one[one["eps"] == one["eps"].max()]
        row: dict[str, Any] = {
            "source": "ours",
            "regime": regime,
            "batch size": int(reg["batch_size"].iloc[0]),
            "epochs trained": float(one["epochs"].mean()),
        }
        for col, values in (
            ("train acc (%)", 100 * one["train_accuracy"]),
            ("test acc (%)", 100 * one["test_accuracy"]),
        ):
            row[col], row[f"{col} sd"] = float(values.mean()), float(values.std(ddof=1))
        for (method, space), g in reg.groupby(["method", "space"], sort=False):
            for eps, e in g.groupby("eps", sort=False):
                col = f"{space} ε={eps:g} {method}"
                row[col], row[f"{col} sd"] = (
                    float(e["sharpness"].mean()),
                    float(e["sharpness"].std(ddof=1)),
                )
        rows.append(row)
    ours = {r["regime"]: r for r in rows}
    key = f"full ε={table['eps'].max():g} L-BFGS-B"
    ratio = ours["LB"][key] / ours["SB"][key]
    gap = ours["SB"]["test acc (%)"] - ours["LB"]["test acc (%)"]
    sb, lb = ours["SB"], ours["LB"]
    limit = int(table["epoch_limit"].iloc[0])
    at_limit = [r for r in ("SB", "LB") if ours[r]["epochs trained"] >= limit]
    obs = (
        f"with batch {fmt(sb['batch size'])} (SB) and {fmt(lb['batch size'])} (LB) trained "
        f"until the training loss stopped improving, at most {fmt(limit)} epochs "
        f"({fmt(sb['epochs trained'])} and {fmt(lb['epochs trained'])} epochs, means over "
        "seeds"
        + (f"; {' and '.join(at_limit)} stopped at the limit, still improving" if at_limit else "")
        + f"), LB's minima are {fmt(ratio)}× as sharp as SB's ({key}) and its test accuracy "
        f"is {fmt(gap)} points {'below' if gap > 0 else 'above'} SB's"
    )
    # both maximisers give lower bounds of the box's maximum: where our ascent finds more on
    # the same minima, L-BFGS-B stopped short (its 10 iterations are the paper's budget)
    short = [
        f"{r} at ε={c.split('ε=')[1].split()[0]} ({fmt(ours[r][c])} against "
        f"{fmt(ours[r][c.replace('L-BFGS-B', 'projected ascent')])})"
        for r in ("SB", "LB")
        for c in ours[r]
        if c.startswith("full ")
        and c.endswith("L-BFGS-B")
        and ours[r].get(c.replace("L-BFGS-B", "projected ascent"), -np.inf) > 2 * ours[r][c]
    ]
    if short:
        obs += (
            "; L-BFGS-B found under half of what our projected ascent found on the same minima "
            f"for {', '.join(short)}: both are lower bounds of the box's maximum, so there "
            "L-BFGS-B stopped short (its 10 iterations start at a random point of the box) "
            "and the ascent's value is the sharpness"
        )
    if table["dataset"].iloc[0] == papers.KESKAR_F1_DATASET:
        full = papers.KESKAR_F1_SHARPNESS["full"][1e-3]
        acc = papers.KESKAR_F1_ACCURACY["test"]
        obs += (
            f"; Keskar et al.'s F1 on {datasets.title(papers.KESKAR_F1_DATASET)} (Tables 2-3): "
            f"{fmt(full['LB'].mean / full['SB'].mean)}× "
            f"and {fmt(acc['SB'].mean - acc['LB'].mean)} points (F1's layers are in the "
            "paper's Appendix B.1, which the stored text lacks, so our network is not F1)"
        )
        for regime in ("SB", "LB"):
            paper = {"source": "Keskar et al. F1 (Tables 2-4)", "regime": regime}
            for split in ("train", "test"):
                cell = papers.KESKAR_F1_ACCURACY[split][regime]
                paper[f"{split} acc (%)"], paper[f"{split} acc (%) sd"] = cell.mean, cell.sd
            for space, per_eps in papers.KESKAR_F1_SHARPNESS.items():
                for eps, per_regime in per_eps.items():
                    col, cell = f"{space} ε={eps:g} L-BFGS-B", per_regime[regime]
                    paper[col], paper[f"{col} sd"] = cell.mean, cell.sd
            rows.append(paper)
    nums = pd.DataFrame(rows)
    finds = {
        "LB's minima were sharper than SB's (L-BFGS-B, full space, every ε)": bool(
            all(
                ours["LB"][c] > ours["SB"][c]
                for c in ours["SB"]
                if c.startswith("full ") and c.endswith("L-BFGS-B")
            )
        ),
        "LB's test accuracy was below SB's (means over seeds)": bool(gap > 0),
    }
    return DatasetFindings(nums, obs + ".", finds)


def summarize_keskar(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    """Keskar et al.'s protocol: epochs trained, accuracy and sharpness of SB and LB per data
    set, the paper's F1 numbers beside ours; what holds on every data set."""
    nums, obs = per_dataset(table, _keskar_one)
    r = table.iloc[0]
    settings = [
        f"model: {r['model']} ({fmt(int(r['params']))} parameters)",
        *data_lines(config, "keskar"),
        *training_lines(config, "keskar"),
        f"stop rule: trained {stop_rule_text(r)}",
        f"sharpness: Metric 2.1 over {fmt(int(r['sharpness_examples']))} of "
        f"{fmt(int(r['train_size']))} training examples, {fmt(int(r['iterations']))} L-BFGS-B "
        f"iterations, subspace dimension {fmt(int(r['subspace']))}",
        f"the paper's protocol ({papers.KESKAR}): {papers.KESKAR_PROTOCOL}",
    ]
    return FigureSummary.of("keskar", settings, nums, obs[0].upper() + obs[1:], seed_note(table))


MEASURE_NAMES = {
    "sensitivity": "sensitivity",
    "sharpness": "ε-sharpness",
    "top_eigenvalue": "λ_max",
    "param_norm": "‖θ‖₂",
    "params": "parameter count",
}


def measure_ranking(table: pd.DataFrame) -> pd.DataFrame:
    """One row per measure of one data set's table: Kendall's τ with each gap and its
    interval, and Ψ, strongest |τ| with the accuracy gap first."""
    first = table.drop_duplicates("measure").set_index("measure")
    rows = []
    for m in first.index:
        r = first.loc[m]
        row = {"measure": MEASURE_NAMES.get(m, m), "key": m}
        for gap, name in (("accuracy_gap", "accuracy gap"), ("loss_gap", "loss gap")):
            row[f"τ, {name}"] = float(r[f"tau_{gap}"])
            row[f"95% interval, {name}"] = (
                f"[{fmt(float(r[f'tau_{gap}_low']))}, {fmt(float(r[f'tau_{gap}_high']))}]"
            )
            row[f"Ψ, {name}"] = float(r[f"Psi_{gap}"])
        rows.append(row)
    out = pd.DataFrame(rows)
    order = out["τ, accuracy gap"].abs().sort_values(ascending=False, kind="stable").index
    return out.loc[order].reset_index(drop=True)


def _measures_one(table: pd.DataFrame) -> DatasetFindings:
    """Numbers, observation and findings of one data set's measures."""
    rank = measure_ranking(table)
    n = int(table["n_models"].iloc[0])
    best = rank.iloc[0]
    first = table.drop_duplicates("measure").set_index("measure")

    def excludes_zero(key: str) -> bool:
        r = first.loc[key]
        return bool(r["tau_accuracy_gap_low"] > 0 or r["tau_accuracy_gap_high"] < 0)

    sure = [r["measure"] for _, r in rank.iterrows() if excludes_zero(r["key"])]
    obs = (
        f"over {fmt(n)} models, {best['measure']} ranks the gap in accuracy best (Kendall τ = "
        f"{fmt(best['τ, accuracy gap'])}, 95% interval {best['95% interval, accuracy gap']}; "
        f"with the gap in loss τ = {fmt(best['τ, loss gap'])}); the intervals exclude 0 for "
        + (", ".join(sure) if sure else "no measure")
        + "."
    )
    sens = rank[rank["key"] == "sensitivity"]
    findings = {}
    if len(sens):
        s = sens.iloc[0]
        findings["sensitivity ranked the accuracy gap with τ > 0, interval excluding 0"] = bool(
            s["τ, accuracy gap"] > 0 and excludes_zero("sensitivity")
        )
    return DatasetFindings(rank.drop(columns="key"), obs, findings)


def summarize_generalization_measures(
    table: pd.DataFrame, config: Mapping[str, Any]
) -> FigureSummary:
    """Kendall's τ (with intervals) and Ψ of every measure with the gaps, per data set."""
    nums, obs = per_dataset(table, _measures_one)
    a = table.attrs
    block = config["experiments"]["generalization_measures"]
    per = table.drop_duplicates(["dataset", "experiment", "variant", "seed"])
    counts = per.groupby("experiment", sort=False).size()
    sharp = block["sharpness"]
    n_te = a.get("sensitivity_examples")
    n_tr = sharp["train_examples"]
    settings = [
        "models: every trained classifier of "
        + ", ".join(f"{e} ({fmt(int(c))})" for e, c in counts.items())
        + f", {fmt(len(per))} in all",
        "gaps from each run's final full-set metrics: test − train loss, train − test "
        "accuracy (on the training set and labels it was trained on)",
        "sensitivity: Frobenius norm of d softmax / d input, averaged over "
        f"{f'the first {fmt(int(n_te))}' if n_te else 'all'} test examples",
        f"ε-sharpness (ε = {fmt(float(sharp['eps']))}, {fmt(int(sharp['steps']))} "
        f"projected-ascent steps) and λ_max (Lanczos, ≤ "
        f"{fmt(int(sharp['hessian_iters']))} Hessian-vector products) of the training loss "
        f"over {f'the first {fmt(int(n_tr))}' if n_tr else 'all'} training examples",
        "Kendall's τ-b over the models of a data set, 95% percentile-bootstrap interval "
        "(10,000 resamples of models); Ψ: Jiang et al. (2020)'s granulated coefficient, the "
        "mean over experiments of ψ, itself the mean τ within groups of one seed where only "
        "the experiment's variant changes",
    ]
    return FigureSummary.of("generalization_measures", settings, nums, obs[0].upper() + obs[1:])
