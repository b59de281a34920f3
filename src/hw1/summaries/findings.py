"""The report's Findings: one row per claim of the literature, set beside our runs.

Each row states the claim, where it comes from (paper, table or section, and where our copy
was read: ``docs/papers.md``), the paper's number and protocol (from :mod:`hw1.papers`, never
typed here; "not found in the stored text" where ``docs/papers.md`` says so), ours (mean ±
sd over seeds, per data set where the figure has several), and a verdict by a criterion the
row states: ``agrees``, ``disagrees``, ``mixed`` (the parts of a row, e.g. its data sets,
differ) or ``inconclusive`` (the interval spans the criterion's boundary). Every interval is
:mod:`hw1.stats`'s (percentile bootstrap with a fixed generator, or exact binomial). With few
seeds a percentile interval is too narrow, so a difference over seeds gets a verdict only
from :data:`MIN_SEEDS` seeds a side, and a Kendall τ only from :data:`MIN_RANKED` pairs; the
rows print the exact permutation p beside the interval, so that its strength shows.

A claim whose figure table is not in the run (its experiment is not configured) keeps its
row, with the verdict ``not run`` and no link: the report shows which claims the
configuration leaves untested. The rows are built by :data:`ROW_BUILDERS`, in order; a new
claim is one more builder there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hw1 import datasets, papers, stats
from hw1.config import expand_variants
from hw1.runs import first_epoch_reaching
from hw1.summaries.common import (
    count_noun,
    data_lines,
    final_rows,
    fmt,
    fmt_pct,
    fmt_pm,
    stop_rule_text,
    training_lines,
)

__all__ = [
    "NOT_RUN",
    "ROW_BUILDERS",
    "VERDICTS",
    "Finding",
    "combine",
    "findings",
    "interval_verdict",
]

AGREES, DISAGREES, MIXED, INCONCLUSIVE = "agrees", "disagrees", "mixed", "inconclusive"
NOT_RUN = "not run"
VERDICTS = (AGREES, DISAGREES, MIXED, INCONCLUSIVE, NOT_RUN)
NOT_FOUND = "not found in the stored text"
NOT_RUN_TEXT = "not run in this configuration"
# bootstrap resamples of every interval here (hw1.stats' default; the criteria state it)
RESAMPLES = stats.BOOTSTRAP_RESAMPLES
# A difference over seeds needs this many seeds a side for a verdict: with 2 a side the
# percentile interval is just the seeds' range (it excludes 0 whenever the two pairs do not
# overlap, which an exact permutation test puts at p = 2 / C(4, 2) = 1/3).
MIN_SEEDS = 3
# Kendall's τ needs this many pairs for a verdict: with one fewer, even a perfect ranking
# has an exact two-sided permutation p of 2 / (MIN_RANKED - 1)! > 0.05 (2/24 for 4 pairs),
# while a bootstrap interval over so few pairs is far too narrow.
MIN_RANKED = 5
# the random-walk baseline of the trajectory row: walks drawn, and their dimension
WALKS, WALK_DIM = 20, 10_000


@dataclass(frozen=True)
class Finding:
    """One row of the Findings table."""

    claim: str  # the claim, in one sentence
    source: str  # paper, table/section, where our copy was read
    paper: str  # the paper's number and protocol (or why there is none)
    ours: str  # our numbers, per data set where there are several
    verdict: str  # one of VERDICTS
    criterion: str  # what the verdict rests on
    figure: str  # the figure the row links to
    topic: str = ""  # a short name (the end-of-run findings line)
    parts: tuple[tuple[str, str], ...] = ()  # (data set / function, its verdict)


RowBuilder = Callable[[Mapping[str, pd.DataFrame], Mapping[str, Any]], list[Finding]]


# ----------------------------------------------------------------------------- helpers


def interval_verdict(iv: stats.Interval, boundary: float, *, above_agrees: bool = True) -> str:
    """``agrees`` when the interval lies wholly on the claim's side of ``boundary`` (above
    it when ``above_agrees``), ``disagrees`` when wholly on the other, else (or when it is
    not finite) ``inconclusive``."""
    if not (math.isfinite(iv.low) and math.isfinite(iv.high)):
        return INCONCLUSIVE
    if iv.low > boundary:
        return AGREES if above_agrees else DISAGREES
    if iv.high < boundary:
        return DISAGREES if above_agrees else AGREES
    return INCONCLUSIVE


def combine(verdicts: Sequence[str]) -> str:
    """The verdict of a row from its parts': theirs when they all agree, else ``mixed``."""
    kinds = list(dict.fromkeys(verdicts))
    if not kinds:
        return INCONCLUSIVE
    return kinds[0] if len(kinds) == 1 else MIXED


def _iv(iv: stats.Interval, scale: float = 1.0) -> str:
    """``estimate [low, high]`` in the report's number format."""
    return f"{fmt(scale * iv.estimate)} [{fmt(scale * iv.low)}, {fmt(scale * iv.high)}]"


def _pm(values: Sequence[float] | np.ndarray, scale: float = 1.0) -> str:
    """Mean ± sd of ``values`` (times ``scale``)."""
    mean, sd = stats.mean_sd(np.asarray(values, float) * scale)
    if sd <= 1e-12 * abs(mean):  # equal up to rounding (e.g. shares of 1 of a random walk)
        sd = 0.0
    return fmt_pm(mean, sd)


def _reported(r: papers.Reported, unit: str = "") -> str:
    """A paper's number as it prints it (its digits, not ours)."""
    sd = "" if math.isnan(r.sd) else f" ± {r.sd:g}{unit}"
    return f"{r.mean:g}{unit}{sd}"


def _bootstrap(n: int) -> str:
    return f"95% percentile-bootstrap interval ({fmt(n)} resamples, seed 0)"


def _perm(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> str:
    """The two-sided permutation p-value of the difference of means (exact for few seeds):
    how strong the evidence of so few seeds is, beside the interval."""
    return f"permutation p = {fmt(stats.permutation_pvalue(a, b, resamples=RESAMPLES))}"


def _too_few_ranked() -> str:
    return (
        f"fewer than {fmt(MIN_RANKED)} pairs (with {fmt(MIN_RANKED - 1)} even a perfect ranking "
        f"has exact p = {fmt(2 / math.factorial(MIN_RANKED - 1))})"
    )


def _datasets(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(title, rows)`` of each data set of a figure table, in the table's order ("" for a
    table without a ``dataset`` column)."""
    if "dataset" not in table:
        return [("", table)]
    order = list(dict.fromkeys(table["dataset"]))
    return [(datasets.title(ds), table[table["dataset"] == ds]) for ds in order]


def _label(title: str, text: str) -> str:
    return f"{title}: {text}" if title else text


def _not_diverged(df: pd.DataFrame) -> pd.DataFrame:
    return df[~df["diverged"].astype(bool)] if "diverged" in df else df


def _not_run(
    claim: str, source: str, paper: str, criterion: str, figure: str, topic: str, why: str
) -> Finding:
    return Finding(
        claim, source, paper, f"{NOT_RUN_TEXT} ({why})", NOT_RUN, criterion, figure, topic
    )


def _enough(*samples: Sequence[float] | np.ndarray) -> bool:
    return all(len(s) >= MIN_SEEDS for s in samples)


def _too_few_seeds() -> str:
    n = MIN_SEEDS - 1
    return (
        f"fewer than {fmt(MIN_SEEDS)} seeds a side (with {fmt(n)}, the interval is the seeds' "
        f"range: exact permutation p ≥ {fmt(2 / math.comb(2 * n, n))})"
    )


def set_sizes(config: Mapping[str, Any], experiment: str) -> dict[tuple[str, str], tuple[int, int]]:
    """Training and test examples of each (data set, labels) of ``experiment``'s runs: the
    data set's, cut to the config's ``data`` subset and the runs' ``train_examples`` (as the
    report's data lines state them); empty when the experiment is not in ``config``."""
    block = config.get("experiments", {}).get(experiment)
    if not block or "variants" not in block:
        return {}
    d = config.get("data", {})
    out = {}
    for spec in expand_variants({"experiments": {experiment: block}})[experiment].values():
        ds = spec["dataset"]
        if not datasets.is_dataset(ds):
            continue
        entry = datasets.get(ds)
        n_tr = min(entry.n_train, int(d.get("train_size") or entry.n_train))
        n_te = min(entry.n_test, int(d.get("test_size") or entry.n_test))
        if spec.get("train_examples"):
            n_tr = min(n_tr, int(spec["train_examples"]))
        out[(ds, str(spec.get("labels", "true")))] = (n_tr, n_te)
    return out


# ----------------------------------------------------------------------------- 1. deep vs shallow

COURSE_SOURCE = f"{papers.COURSE}, part 1-1 (deep vs shallow); {papers.COURSE_READ}"
NO_PAPER_NUMBER = "no paper number: the homework states the claim without one"


def deep_vs_shallow_functions(
    tables: Mapping[str, pd.DataFrame], config: Mapping[str, Any]
) -> list[Finding]:
    """Per 1-D function: the deepest vs the shallowest model's final test loss over seeds."""
    claim = (
        "Deeper networks of (nearly) equal parameter count fit a 1-D function better than "
        "shallow ones: a lower final test loss."
    )
    criterion = (
        "per function, the "
        + _bootstrap(RESAMPLES)
        + " of mean log final test loss of the shallowest minus the deepest model over "
        "seeds (diverged seeds left out): above 0 agrees, below 0 disagrees, spanning 0 (or "
        f"{_too_few_seeds()}) inconclusive"
    )
    topic = "deep vs shallow (1-D functions)"
    table = tables.get("function_loss")
    if table is None:
        return [
            _not_run(
                claim,
                COURSE_SOURCE,
                NO_PAPER_NUMBER,
                criterion,
                "function_loss",
                topic,
                "experiment functions",
            )
        ]
    fin, dropped = final_rows(table, ["function", "model", "split"])
    test = fin[fin["split"] == "test"]
    texts, parts = [], []
    for fn, g in test.groupby("function", sort=False):
        deep = g[g["depth"] == g["depth"].max()]
        shallow = g[g["depth"] == g["depth"].min()]
        d, s = deep["loss"].to_numpy(float), shallow["loss"].to_numpy(float)
        layers = [count_noun(int(m["depth"].iloc[0]), "hidden layer") for m in (deep, shallow)]
        head = (
            f"{fn}: {deep['model'].iloc[0]} ({layers[0]}) {_pm(d)} vs "
            f"{shallow['model'].iloc[0]} ({layers[1]}) {_pm(s)}"
        )
        if not _enough(d, s) or (d <= 0).any() or (s <= 0).any():
            v = INCONCLUSIVE
            why = _too_few_seeds() if not _enough(d, s) else "a loss ≤ 0: no log"
            texts.append(f"{head} ({why}) → {v}")
        else:
            iv = stats.difference_interval(np.log(d), np.log(s), resamples=RESAMPLES)
            v = interval_verdict(iv, 0.0)
            ratio = stats.Interval(*(math.exp(x) for x in iv))
            texts.append(
                f"{head}; shallow ÷ deep (geometric means) ×{_iv(ratio)}, "
                f"{_perm(np.log(d), np.log(s))} → {v}"
            )
        parts.append((str(fn), v))
    n = int(test["seed"].nunique())
    ours = (
        f"final test MSE, mean ± sd over {fmt(n)} seeds"
        + (
            f" ({fmt(dropped)} diverged run{'s' if dropped != 1 else ''} left out)"
            if dropped
            else ""
        )
        + ": "
        + "; ".join(texts)
    )
    verdict = combine([v for _, v in parts])
    return [
        Finding(
            claim,
            COURSE_SOURCE,
            NO_PAPER_NUMBER,
            ours,
            verdict,
            criterion,
            "function_loss",
            topic,
            tuple(parts),
        )
    ]


def deep_vs_shallow_cnn(
    tables: Mapping[str, pd.DataFrame], config: Mapping[str, Any]
) -> list[Finding]:
    """Per data set: the deepest vs the shallowest CNN's final test error over seeds."""
    claim = (
        "Deeper CNNs of (nearly) equal parameter count classify images better than shallow "
        "ones: a lower final test error."
    )
    criterion = (
        "per data set, the "
        + _bootstrap(RESAMPLES)
        + " of the mean final test error (1 − accuracy) of the shallowest minus the deepest "
        "CNN over seeds: above 0 agrees, below 0 disagrees, spanning 0 (or "
        f"{_too_few_seeds()}) inconclusive"
    )
    topic = "deep vs shallow (CNNs on images)"
    table = tables.get("cnn_depth")
    if table is None:
        return [
            _not_run(
                claim,
                COURSE_SOURCE,
                NO_PAPER_NUMBER,
                criterion,
                "cnn_depth",
                topic,
                "experiment cnn_depth",
            )
        ]
    texts, parts = [], []
    for title, sub in _datasets(table):
        keys = ["dataset", "model", "split"] if "dataset" in sub else ["model", "split"]
        fin, _ = final_rows(sub, keys)
        test = fin[fin["split"] == "test"]
        deep = test[test["depth"] == test["depth"].max()]
        shallow = test[test["depth"] == test["depth"].min()]
        d = 1.0 - deep["accuracy"].to_numpy(float)
        s = 1.0 - shallow["accuracy"].to_numpy(float)
        head = (
            f"{deep['model'].iloc[0]} ({count_noun(int(deep['depth'].iloc[0]), 'conv layer')}) "
            f"test error {_pm(d, 100)}% vs {shallow['model'].iloc[0]} "
            f"({count_noun(int(shallow['depth'].iloc[0]), 'conv layer')}) {_pm(s, 100)}% over "
            f"{fmt(int(test['seed'].nunique()))} seeds"
        )
        if _enough(d, s):
            iv = stats.difference_interval(d, s, resamples=RESAMPLES)
            v = interval_verdict(iv, 0.0)
            texts.append(
                _label(title, f"{head}; shallow − deep {_iv(iv, 100)} points, {_perm(d, s)} → {v}")
            )
        else:
            v = INCONCLUSIVE
            texts.append(_label(title, f"{head} ({_too_few_seeds()}) → {v}"))
        parts.append((title or "images", v))
    return [
        Finding(
            claim,
            COURSE_SOURCE,
            NO_PAPER_NUMBER,
            "; ".join(texts),
            combine([v for _, v in parts]),
            criterion,
            "cnn_depth",
            topic,
            tuple(parts),
        )
    ]


# ----------------------------------------------------------------------------- 2. Keskar et al.

# no stored copy of a paper shows its PDF page numbers (docs/papers.md): the rows say so
NO_PAGE = "page: not in the stored text"
KESKAR_SOURCE = f"{papers.KESKAR}, §2.2 and Tables 2-4 ({NO_PAGE}); read in {papers.KESKAR_READ}"


def _keskar_paper(eps: float) -> tuple[str, str]:
    """The paper's F1 numbers and protocol: (sharpness text, accuracy text)."""
    ds = datasets.title(papers.KESKAR_F1_DATASET)
    cells = papers.KESKAR_F1_SHARPNESS["full"]
    e = eps if eps in cells else max(cells)
    sharp = cells[e]
    acc = papers.KESKAR_F1_ACCURACY["test"]
    net = "F1 (fully connected; its layers are in Appendix B.1, " + NOT_FOUND + ")"
    others = [
        f"{space} ε = {eps_:g} ({c['SB'].where}) ×{fmt(c['LB'].mean / c['SB'].mean)}"
        for space, per_eps in papers.KESKAR_F1_SHARPNESS.items()
        for eps_, c in per_eps.items()
        if (space, eps_) != ("full", e)
    ]
    sharp_text = (
        f"{net} on {ds}, {sharp['SB'].where} (full space, ε = {e:g}): SB {_reported(sharp['SB'])},"
        f" LB {_reported(sharp['LB'])}, LB ÷ SB ×{fmt(sharp['LB'].mean / sharp['SB'].mean)} "
        f"(its other cells, LB ÷ SB of the means: {', '.join(others)}); "
        f"protocol: {papers.KESKAR_PROTOCOL}"
    )
    acc_text = (
        f"{net} on {ds}, {acc['SB'].where}: test accuracy SB {_reported(acc['SB'], '%')}, LB "
        f"{_reported(acc['LB'], '%')}, SB − LB {fmt(acc['SB'].mean - acc['LB'].mean)} points; "
        f"protocol: {papers.KESKAR_PROTOCOL}"
    )
    return sharp_text, acc_text


SHARPER_CLAIM = (
    "Large-batch training converges to sharper minima than small-batch training "
    "(Keskar et al. 2017)."
)
WORSE_CLAIM = (
    "Large-batch training generalizes worse than small-batch training: a lower test accuracy "
    "(Keskar et al. 2017)."
)


def _sharper_criterion(method: str) -> str:
    return (
        "per data set, the "
        + _bootstrap(RESAMPLES)
        + f" of mean LB ÷ mean SB sharpness ({method}) over seeds: above 1 agrees, below 1 "
        f"disagrees, spanning 1 (or {_too_few_seeds()}) inconclusive"
    )


def _worse_criterion(extra: str = "") -> str:
    return (
        "per data set, the "
        + _bootstrap(RESAMPLES)
        + " of mean SB − mean LB final test accuracy over seeds: above 0 agrees, below 0 "
        f"disagrees, spanning 0 (or {_too_few_seeds()}) inconclusive" + extra
    )


def _ratio_part(sb: np.ndarray, lb: np.ndarray) -> tuple[str, str]:
    """``(text, verdict)`` of the LB ÷ SB sharpness ratio."""
    sb, lb = sb[np.isfinite(sb)], lb[np.isfinite(lb)]
    if not _enough(sb, lb):
        return _too_few_seeds().replace("seeds", "measured seeds", 1), INCONCLUSIVE
    if (sb <= 0).any() or (lb <= 0).any():
        return "a sharpness ≤ 0: no ratio", INCONCLUSIVE
    iv = stats.ratio_interval(sb, lb, resamples=RESAMPLES)
    return f"LB ÷ SB ×{_iv(iv)}, {_perm(sb, lb)}", interval_verdict(iv, 1.0)


def _gap_part(sb: np.ndarray, lb: np.ndarray) -> tuple[str, str]:
    """``(text, verdict)`` of SB − LB test accuracy (points)."""
    if not _enough(sb, lb):
        return _too_few_seeds(), INCONCLUSIVE
    iv = stats.difference_interval(lb, sb, resamples=RESAMPLES)
    return f"SB − LB {_iv(iv, 100)} points, {_perm(lb, sb)}", interval_verdict(iv, 0.0)


def keskar_rows(tables: Mapping[str, pd.DataFrame], config: Mapping[str, Any]) -> list[Finding]:
    """Keskar et al.'s two claims: from their protocol's table (``keskar``) if it ran, else
    from the batch-size sweep (``sharpness``), naming how that protocol differs."""
    if "keskar" in tables:
        return _keskar_protocol(tables["keskar"])
    if "sharpness" in tables:
        return _keskar_from_sweep(tables["sharpness"])
    sharp_paper, acc_paper = _keskar_paper(1e-3)
    why = "experiments keskar and batch_size"
    return [
        _not_run(
            SHARPER_CLAIM,
            KESKAR_SOURCE,
            sharp_paper,
            _sharper_criterion("Metric 2.1"),
            "keskar",
            "Keskar: LB minima sharper",
            why,
        ),
        _not_run(
            WORSE_CLAIM,
            KESKAR_SOURCE,
            acc_paper,
            _worse_criterion(),
            "keskar",
            "Keskar: LB generalizes worse",
            why,
        ),
    ]


def _range(values: pd.Series, scale: float = 1.0) -> str:
    """``min–max`` of a column (a seed far from the others shows, where an sd hides it); one
    value where both read the same."""
    lo, hi = (f"{float(v) * scale:.2f}" for v in (values.min(), values.max()))
    return lo if lo == hi else f"{lo}–{hi}"


def _keskar_protocol(table: pd.DataFrame) -> list[Finding]:
    eps = float(table["eps"].max())
    sharp_texts, acc_texts, sharp_parts, acc_parts = [], [], [], []
    for title, sub in _datasets(table):
        one = sub[(sub["method"] == "L-BFGS-B") & (sub["space"] == "full") & (sub["eps"] == eps)]
        sb, lb = one[one["regime"] == "SB"], one[one["regime"] == "LB"]
        r = sub.iloc[0]
        limit = int(r["epoch_limit"])
        capped = int((one["epochs"] >= limit).sum())
        setup = (
            f"{r['model']}, SB batch {fmt(int(sb['batch_size'].iloc[0]))} vs LB "
            f"{fmt(int(lb['batch_size'].iloc[0]))} of {fmt(int(r['train_size']))} training "
            f"examples, trained {stop_rule_text(r)} ({_pm(sb['epochs'])} and "
            f"{_pm(lb['epochs'])} epochs trained"
            + (
                f"; {fmt(capped)} of {fmt(len(one))} runs stopped at the limit, not by the rule"
                if capped
                else ""
            )
            + "; final training accuracy "
            + ", ".join(
                f"{name} {_range(x['train_accuracy'], 100)}%"
                for name, x in (("SB", sb), ("LB", lb))
            )
            + ")"
        )
        text, v = _ratio_part(sb["sharpness"].to_numpy(float), lb["sharpness"].to_numpy(float))
        sharp_texts.append(
            _label(
                title,
                f"{setup}: sharpness SB {_pm(sb['sharpness'])}, LB {_pm(lb['sharpness'])}; "
                f"{text} → {v}" + _other_cells(sub, eps),
            )
        )
        sharp_parts.append((title or "data", v))
        a_sb, a_lb = sb["test_accuracy"].to_numpy(float), lb["test_accuracy"].to_numpy(float)
        text, v = _gap_part(a_sb, a_lb)
        acc_texts.append(
            _label(
                title,
                f"{setup}: test accuracy SB {_pm(a_sb, 100)}%, LB {_pm(a_lb, 100)}%; {text} → {v}",
            )
        )
        acc_parts.append((title or "data", v))
    r = table.iloc[0]
    how = (
        f"Metric 2.1 at ε = {eps:g} in the full space, {fmt(int(r['iterations']))} L-BFGS-B "
        f"iterations over {fmt(int(r['sharpness_examples']))} training examples, as in the paper; "
        "our network is not F1"
    )
    n = int(table["seed"].nunique())
    sharp_paper, acc_paper = _keskar_paper(eps)
    return [
        Finding(
            SHARPER_CLAIM,
            KESKAR_SOURCE,
            sharp_paper,
            f"mean ± sd over {fmt(n)} seeds; {how}. " + "; ".join(sharp_texts),
            combine([v for _, v in sharp_parts]),
            _sharper_criterion(f"Metric 2.1, full space, ε = {eps:g}, L-BFGS-B"),
            "keskar",
            "Keskar: LB minima sharper",
            tuple(sharp_parts),
        ),
        Finding(
            WORSE_CLAIM,
            KESKAR_SOURCE,
            acc_paper,
            f"mean ± sd over {fmt(n)} seeds; our network is not F1. " + "; ".join(acc_texts),
            combine([v for _, v in acc_parts]),
            _worse_criterion(),
            "keskar",
            "Keskar: LB generalizes worse",
            tuple(acc_parts),
        ),
    ]


def _other_cells(sub: pd.DataFrame, eps: float) -> str:
    """The L-BFGS-B cells of one data set other than the judged one (full space at ``eps``),
    as LB ÷ SB of the means over seeds: reported beside the paper's, not judged."""
    lb = sub[sub["method"] == "L-BFGS-B"]
    means = lb.groupby(["space", "eps", "regime"], sort=False)["sharpness"].mean()
    cells = [
        f"{space} ε = {e:g} ×{fmt(means[(space, e, 'LB')] / means[(space, e, 'SB')])}"
        for space, e in dict.fromkeys((sp, ep) for sp, ep, _ in means.index)
        if (space, e) != ("full", eps)
    ]
    return f" (the other cells, LB ÷ SB of the means: {', '.join(cells)})" if cells else ""


def _keskar_from_sweep(table: pd.DataFrame) -> list[Finding]:
    """The claims tested on the batch-size sweep's smallest and largest batch size."""
    eps = float(table["eps"].iloc[0])
    r = table.iloc[0]
    protocol = (
        f"not the paper's protocol: every batch size trained {fmt(int(r['epochs']))} epochs "
        "(equal epochs, not 'until the loss function ceased to improve'); ε-sharpness at "
        f"ε = {eps:g} found by projected gradient ascent, not L-BFGS-B, over "
        f"{fmt(int(r['sharpness_examples']))} of {fmt(int(r['train_size']))} training examples;"
        " our network is not F1"
    )
    sharp_texts, acc_texts, sharp_parts, acc_parts = [], [], [], []
    for title, sub in _datasets(table):
        ok = _not_diverged(sub)
        small, large = int(sub["batch_size"].min()), int(sub["batch_size"].max())
        n_tr = int(sub["train_size"].iloc[0])
        sizes = (
            f"batch {fmt(small)} vs {fmt(large)} ({fmt_pct(large / n_tr)} of the "
            f"{fmt(n_tr)} training examples)"
        )
        tr, te = ok[ok["split"] == "train"], ok[ok["split"] == "test"]
        s_sb = tr.loc[tr["batch_size"] == small, "sharpness"].to_numpy(float)
        s_lb = tr.loc[tr["batch_size"] == large, "sharpness"].to_numpy(float)
        if not (np.isfinite(s_sb).any() and np.isfinite(s_lb).any()):
            v = INCONCLUSIVE
            sharp_texts.append(_label(title, f"{sizes}: sharpness not measured → {v}"))
        else:
            text, v = _ratio_part(s_sb, s_lb)
            sharp_texts.append(
                _label(
                    title,
                    f"{sizes}: ε-sharpness {_pm(s_sb[np.isfinite(s_sb)])} vs "
                    f"{_pm(s_lb[np.isfinite(s_lb)])}; {text} → {v}",
                )
            )
        sharp_parts.append((title or "data", v))
        a_sb = te.loc[te["batch_size"] == small, "accuracy"].to_numpy(float)
        a_lb = te.loc[te["batch_size"] == large, "accuracy"].to_numpy(float)
        text, v = _gap_part(a_sb, a_lb)
        under = bool(sub.loc[sub["batch_size"] == large, "undertrained"].astype(bool).any())
        note = ""
        if under:
            margin = float(sub["undertrained_margin"].iloc[0])
            note = (
                f", but batch {fmt(large)} is undertrained (its mean final training accuracy "
                f"lies more than {fmt_pct(margin)} below the best batch size's)"
            )
            v = INCONCLUSIVE
        acc_texts.append(
            _label(
                title,
                f"{sizes}: test accuracy {_pm(a_sb, 100)}% vs {_pm(a_lb, 100)}%; {text}{note} "
                f"→ {v}",
            )
        )
        acc_parts.append((title or "data", v))
    n = int(table["seed"].nunique())
    sharp_paper, acc_paper = _keskar_paper(eps)
    head = f"batch-size sweep, mean ± sd over {fmt(n)} seeds; {protocol}. "
    return [
        Finding(
            SHARPER_CLAIM,
            KESKAR_SOURCE,
            sharp_paper,
            head + "; ".join(sharp_texts),
            combine([v for _, v in sharp_parts]),
            _sharper_criterion(f"ε-sharpness, ε = {eps:g}, projected ascent")
            + "; smallest vs largest batch size",
            "sharpness",
            "Keskar: LB minima sharper",
            tuple(sharp_parts),
        ),
        Finding(
            WORSE_CLAIM,
            KESKAR_SOURCE,
            acc_paper,
            head + "; ".join(acc_texts),
            combine([v for _, v in acc_parts]),
            _worse_criterion(
                "; smallest vs largest batch size; inconclusive as well where the largest is "
                "undertrained (the gap would mix the minimum with unfinished training)"
            ),
            "sharpness",
            "Keskar: LB generalizes worse",
            tuple(acc_parts),
        ),
    ]


# ----------------------------------------------------------------------------- 3. Zhang et al.

ZHANG_SOURCE = f"{papers.ZHANG}, §1.1 and §2.1 ({NO_PAGE}); read in {papers.ZHANG_READ}"


def _zhang_paper(quote: papers.Quote, split: str) -> str:
    """A §2.1 sentence and the MLP 1x512 random-label cell of Table 1 (``split``)."""
    t = papers.ZHANG_MLP_1X512_RANDOM[split]
    return (
        f'{quote.where}: "{quote.text}"; MLP 1x512 fitting random labels on '
        f"{papers.ZHANG_MLP_1X512_DATASET}: {split} accuracy {_reported(t)}% in {t.where}; "
        "protocol: SGD with momentum 0.9, no weight decay, dropout or other explicit "
        "regularization on random labels (Appendix A, a secondary quote)"
    )


ZHANG_FIT_CLAIM = "A network memorises random training labels (Zhang et al. 2017)."
ZHANG_CHANCE_CLAIM = (
    "Trained on random labels, a network's test accuracy stays at chance: it learns nothing "
    "that generalizes (Zhang et al. 2017)."
)
ZHANG_TIME_CLAIM = (
    "Training on random labels takes only a small constant factor longer than on the true "
    "labels (Zhang et al. 2017)."
)
ZHANG_TOPICS = ("Zhang: random labels memorised", "Zhang: test accuracy at chance")
ZHANG_TIME_TOPIC = "Zhang: time factor"


def zhang_rows(tables: Mapping[str, pd.DataFrame], config: Mapping[str, Any]) -> list[Finding]:
    """Random labels are memorised, the test accuracy stays at chance, and they take a
    small constant factor longer to fit than true labels (in epochs and in optimizer
    steps): three rows."""
    time_paper = (
        f'{papers.ZHANG_TIME.where}: "{papers.ZHANG_TIME.text}" The factor: {NOT_FOUND} '
        "(Figure 1b, relative convergence time, is an image)"
    )
    time_criterion = (
        "per data set, the first epoch at which the mean training accuracy over seeds reaches "
        "the target, on random ÷ on true labels: agrees when both reach it within the budget "
        "(a measured, finite factor); inconclusive when random labels do not (only a lower "
        "bound) or there is no true-label run; the paper gives no number for 'small', so the "
        "factor's size is reported, not judged; steps = epochs × ⌊training examples ÷ batch "
        "size⌋ (the engine drops the last partial batch)"
    )
    table = tables.get("random_labels")
    target = float(table["target_accuracy"].iloc[0]) if table is not None else math.nan
    fit_criterion = (
        "per data set, the final training accuracy on random labels (mean over seeds) reaches "
        f"the target{f' ({fmt_pct(target)})' if table is not None else ''} within the training "
        "budget: agrees, else disagrees"
    )
    chance_criterion = (
        "per data set, the exact (Clopper-Pearson) 95% binomial interval of the final test "
        "accuracy on random labels (mean over seeds) on the test set's size: agrees unless it "
        "lies wholly above chance, 1 ÷ classes (then the network generalized: disagrees); an "
        "interval wholly below chance is no generalization either (a model whose predictions "
        "ignore the labels scores the test frequency of the classes it predicts)"
    )
    fit_paper = _zhang_paper(papers.ZHANG_FIT, "train")
    chance_paper = _zhang_paper(papers.ZHANG_CHANCE, "test")
    if table is None:
        why = "experiment random_labels"
        return [
            _not_run(c, ZHANG_SOURCE, pp, cr, "random_labels", t, why)
            for c, pp, cr, t in (
                (ZHANG_FIT_CLAIM, fit_paper, fit_criterion, ZHANG_TOPICS[0]),
                (ZHANG_CHANCE_CLAIM, chance_paper, chance_criterion, ZHANG_TOPICS[1]),
                (ZHANG_TIME_CLAIM, time_paper, time_criterion, ZHANG_TIME_TOPIC),
            )
        ]
    sizes = set_sizes(config, "random_labels")
    texts: dict[str, list[str]] = {"fit": [], "chance": [], "time": []}
    parts: dict[str, list[tuple[str, str]]] = {"fit": [], "chance": [], "time": []}
    for title, sub in _datasets(table):
        name = title or "data"
        ds = sub["dataset"].iloc[0] if "dataset" in sub else None
        rnd, true = sub[sub["labels"] == "random"], sub[sub["labels"] == "true"]
        fin, _ = final_rows(rnd, ["split"])
        tr, te = fin[fin["split"] == "train"], fin[fin["split"] == "test"]
        train_acc, test_acc = tr["accuracy"].to_numpy(float), te["accuracy"].to_numpy(float)
        epochs = fmt(int(rnd["epoch"].max()))
        v = AGREES if float(train_acc.mean()) >= target - 1e-12 else DISAGREES
        texts["fit"].append(
            _label(
                title,
                f"final training accuracy on random labels {_pm(train_acc, 100)}% after "
                f"{epochs} epochs (target {fmt_pct(target)}) → {v}",
            )
        )
        parts["fit"].append((name, v))
        classes = datasets.n_outputs(ds) if ds and datasets.is_dataset(ds) else None
        n_te = sizes.get((ds, "random"), (None, None))[1]
        head = f"final test accuracy on random labels {_pm(test_acc, 100)}%"
        if classes is None or n_te is None:
            v = INCONCLUSIVE
            texts["chance"].append(
                _label(title, f"{head} (test set size or classes unknown) → {v}")
            )
        else:
            chance = 1.0 / classes
            iv = stats.binomial_interval(round(float(test_acc.mean()) * n_te), n_te)
            v = DISAGREES if iv.low > chance else AGREES
            where = "above" if iv.low > chance else "below" if iv.high < chance else "around"
            texts["chance"].append(
                _label(
                    title,
                    f"{head}, 95% interval on {fmt(n_te)} test images [{fmt(100 * iv.low)}, "
                    f"{fmt(100 * iv.high)}]%, {where} chance {fmt_pct(chance)} → {v}",
                )
            )
        parts["chance"].append((name, v))
        text, v = _time_text(rnd, true, target, sizes, ds)
        texts["time"].append(_label(title, f"{text} → {v}"))
        parts["time"].append((name, v))
    n = int(table["seed"].nunique())
    note = f"mean ± sd over {fmt(n)} seeds" if n > 1 else "one seed"
    ours = [*data_lines(config, "random_labels"), *training_lines(config, "random_labels")]
    if ours and "model" in table:
        ours.insert(0, "model: " + ", ".join(dict.fromkeys(table["model"].astype(str))))
    if ours:  # the paper trained on CIFAR10 with SGD: name how our runs differ
        note += "; our protocol, not the paper's: " + "; ".join(ours)
    rows = (
        ("fit", ZHANG_FIT_CLAIM, fit_paper, fit_criterion, ZHANG_TOPICS[0]),
        ("chance", ZHANG_CHANCE_CLAIM, chance_paper, chance_criterion, ZHANG_TOPICS[1]),
        ("time", ZHANG_TIME_CLAIM, time_paper, time_criterion, ZHANG_TIME_TOPIC),
    )
    return [
        Finding(
            claim,
            ZHANG_SOURCE,
            paper,
            f"{note}. " + "; ".join(texts[key]),
            combine([v for _, v in parts[key]]),
            criterion,
            "random_labels",
            topic,
            tuple(parts[key]),
        )
        for key, claim, paper, criterion, topic in rows
    ]


def _time_text(
    rnd: pd.DataFrame,
    true: pd.DataFrame,
    target: float,
    sizes: Mapping[tuple[str, str], tuple[int, int]],
    ds: str | None,
) -> tuple[str, str]:
    """The epochs (and optimizer steps) to the target on random vs true labels, their ratio,
    and its verdict."""
    if true.empty:
        return "no true-label run", INCONCLUSIVE
    e_r, e_t = first_epoch_reaching(rnd, target), first_epoch_reaching(true, target)
    if e_t is None or e_t <= 0:
        return (
            f"true labels did not reach {fmt_pct(target)} after a training epoch in "
            f"{fmt(int(true['epoch'].max()))} epochs",
            INCONCLUSIVE,
        )
    if e_r is None:
        budget = int(rnd["epoch"].max())
        return (
            f"true labels reached {fmt_pct(target)} at epoch {fmt(e_t)}, random labels not in "
            f"{fmt(budget)} epochs: factor > {fmt(budget / e_t)} in epochs",
            INCONCLUSIVE,
        )
    text = (
        f"{fmt_pct(target)} reached at epoch {fmt(e_r)} (random) vs {fmt(e_t)} (true): "
        f"×{fmt(e_r / e_t)} in epochs"
    )
    n_r, n_t = sizes.get((ds, "random")), sizes.get((ds, "true"))
    b_r, b_t = int(rnd["batch_size"].iloc[0]), int(true["batch_size"].iloc[0])
    if n_r and n_t:
        s_r, s_t = e_r * (n_r[0] // b_r), e_t * (n_t[0] // b_t)
        text += f", ×{fmt(s_r / s_t)} in optimizer steps ({fmt(s_r)} vs {fmt(s_t)})"
    else:
        text += ", in optimizer steps n/a (training set size not in the config)"
    per_r, per_t = _seed_epochs(rnd, target), _seed_epochs(true, target)
    if len(per_r) > 1 or len(per_t) > 1:
        text += (
            f" (per seed: {_seed_epochs_text(per_r)} vs {_seed_epochs_text(per_t)} epochs; the "
            "factor is that of the mean curves)"
        )
    return text, AGREES


def _seed_epochs(df: pd.DataFrame, target: float) -> list[int | None]:
    """Each seed's first epoch at ``target`` training accuracy (None: not reached)."""
    return [first_epoch_reaching(g, target) for _, g in df.groupby("seed", sort=True)]


def _seed_epochs_text(epochs: list[int | None]) -> str:
    """Mean ± sd of the seeds that reached the target, and how many did not."""
    hit = [e for e in epochs if e is not None]
    text = _pm(hit) if hit else "none"
    missed = len(epochs) - len(hit)
    return text + (f" ({fmt(missed)} of {fmt(len(epochs))} seeds not reached)" if missed else "")


# ----------------------------------------------------------------------------- 4. Novak et al.

NOVAK_SOURCE = f"{papers.NOVAK}, abstract ({NO_PAGE}); read in {papers.NOVAK_READ}"
NOVAK_CLAIM = (
    "The input-output Jacobian norm (sensitivity) tracks the generalization gap: models with "
    "a higher sensitivity generalize worse (Novak et al. 2018)."
)
GAPS = {"test − train loss": ("loss", 1.0), "train − test accuracy": ("accuracy", -1.0)}


def _model_gaps(table: pd.DataFrame) -> pd.DataFrame:
    """One row per model (batch size × seed): its sensitivity and both gaps."""
    ok = _not_diverged(table)
    wide = ok.pivot_table(
        index=["batch_size", "seed"], columns="split", values=["loss", "accuracy", "sensitivity"]
    )
    out = pd.DataFrame({"sensitivity": wide[("sensitivity", "test")]})
    for name, (col, sign) in GAPS.items():
        out[name] = sign * (wide[(col, "test")] - wide[(col, "train")])
    return out[np.isfinite(out).all(axis=1)].reset_index()


def _novak_paper(extra: str = "") -> str:
    """The paper column of the Novak rows: the abstract's sentence; no correlation value."""
    j = papers.NOVAK_JACOBIAN
    return f'{j.where}: "{j.text}" Correlation value: {NOT_FOUND} (abstract only){extra}'


def _novak_not_run(paper: str, criterion: str, figure: str, topic: str, experiment: str):
    """The row of a Novak claim whose experiment is not configured."""
    return [_not_run(NOVAK_CLAIM, NOVAK_SOURCE, paper, criterion, figure, topic,
                     f"experiment {experiment}")]  # fmt: skip


def novak_batch_size(
    tables: Mapping[str, pd.DataFrame], config: Mapping[str, Any]
) -> list[Finding]:
    """Kendall's τ between sensitivity and the generalization gap over the batch-size
    sweep's models (data set × batch size × seed), per data set and gap."""
    criterion = (
        "per data set and gap, Kendall's τ over the models (batch size × seed, diverged ones "
        "left out) with its " + _bootstrap(RESAMPLES) + " (models resampled): above 0 agrees, "
        f"below 0 disagrees, spanning 0 (or undefined, or {_too_few_ranked()}) inconclusive"
    )
    paper = _novak_paper(
        "; the paper surveys thousands of fully-connected models, not one batch-size sweep"
    )
    topic = "Novak: sensitivity vs gap (batch sizes)"
    table = tables.get("sensitivity")
    if table is None:
        return _novak_not_run(paper, criterion, "sensitivity", topic, "batch_size")
    texts, parts = [], []
    for title, sub in _datasets(table):
        m = _model_gaps(sub)
        bits = []
        for gap in GAPS:
            if len(m) < MIN_RANKED:
                v = INCONCLUSIVE
                bits.append(f"τ(sensitivity, {gap}): {_too_few_ranked()} → {v}")
            else:
                iv = stats.kendall_interval(m["sensitivity"], m[gap], resamples=RESAMPLES)
                v = interval_verdict(iv, 0.0) if math.isfinite(iv.estimate) else INCONCLUSIVE
                bits.append(f"τ(sensitivity, {gap}) = {_iv(iv)} → {v}")
            parts.append((_label(title, gap), v))
        by_bs = m.groupby("batch_size")["sensitivity"]
        lo, hi = int(m["batch_size"].min()), int(m["batch_size"].max())
        texts.append(
            _label(
                title,
                f"{fmt(len(m))} models ({fmt(m['batch_size'].nunique())} batch sizes); "
                f"sensitivity {_pm(by_bs.get_group(lo))} at batch {fmt(lo)}, "
                f"{_pm(by_bs.get_group(hi))} at {fmt(hi)}; " + "; ".join(bits),
            )
        )
    return [
        Finding(
            NOVAK_CLAIM,
            NOVAK_SOURCE,
            paper,
            "; ".join(texts),
            combine([v for _, v in parts]),
            criterion,
            "sensitivity",
            topic,
            tuple(parts),
        )
    ]


def novak_study(tables: Mapping[str, pd.DataFrame], config: Mapping[str, Any]) -> list[Finding]:
    """Kendall's τ between sensitivity and the generalization gap over every trained
    classifier of the study (figure ``generalization_measures``, whose table holds τ and its
    interval), per data set and gap; beside it the measure that ranks the gap best."""
    criterion = (
        "per data set and gap, Kendall's τ over every measured model (all experiments, "
        "variants and seeds) with its 95% percentile-bootstrap interval (models resampled, "
        f"{fmt(RESAMPLES)} resamples): above 0 agrees, below 0 disagrees, spanning 0 (or "
        f"{_too_few_ranked()}) inconclusive"
    )
    paper = _novak_paper()
    topic = "Novak: sensitivity vs gap (whole study)"
    table = tables.get("generalization_measures")
    if table is None:
        return _novak_not_run(
            paper, criterion, "generalization_measures", topic, "generalization_measures"
        )
    texts, parts = [], []
    for title, sub in _datasets(table):
        first = sub.drop_duplicates("measure").set_index("measure")
        n = int(first["n_models"].iloc[0])
        s = first.loc["sensitivity"]
        bits = []
        for gap, col in (
            ("test − train loss", "loss_gap"),
            ("train − test accuracy", "accuracy_gap"),
        ):
            iv = stats.Interval(s[f"tau_{col}"], s[f"tau_{col}_low"], s[f"tau_{col}_high"])
            v = INCONCLUSIVE if n < MIN_RANKED else interval_verdict(iv, 0.0)
            bits.append(f"τ(sensitivity, {gap}) = {_iv(iv)}, Ψ = {fmt(s[f'Psi_{col}'])} → {v}")
            parts.append((_label(title, gap), v))
        best = first["tau_accuracy_gap"].abs().idxmax()
        texts.append(
            _label(
                title,
                f"{fmt(n)} models; " + "; ".join(bits) + f"; the measure ranking the accuracy "
                f"gap best: {best} (τ = {fmt(first.loc[best, 'tau_accuracy_gap'])})",
            )
        )
    return [
        Finding(
            NOVAK_CLAIM,
            NOVAK_SOURCE,
            paper,
            "; ".join(texts),
            combine([v for _, v in parts]),
            criterion,
            "generalization_measures",
            topic,
            tuple(parts),
        )
    ]


# ----------------------------------------------------------------------------- 5. minimal ratio

MINIMAL_RATIO_SOURCE = (
    f"{papers.COURSE}, task {papers.COURSE_MINIMAL_RATIO_TASK} (the task's title as a student "
    f"repository lists it); {papers.COURSE_READ}"
)


def minimal_ratio_row(
    tables: Mapping[str, pd.DataFrame], config: Mapping[str, Any]
) -> list[Finding]:
    """Kendall's τ between minimal ratio and loss over the converged runs; why ours may
    differ from the lecture's plot (what the spectra at those points show)."""
    claim = (
        "At points where the gradient is almost zero, a lower loss goes with a larger minimal "
        "ratio (a more minimum-like point): the homework's question, read here as a "
        "negative rank correlation."
    )
    paper = (
        f"the lecture's plot: {NOT_FOUND} (the slides are not stored, docs/papers.md §7), so the"
        " expected direction is this report's reading of the task, not a quoted result"
    )
    criterion = (
        "Kendall's τ of minimal ratio with final loss over the converged runs (phase-2 "
        "‖∇L‖ below the threshold), with its " + _bootstrap(RESAMPLES) + " (runs resampled): "
        f"below 0 agrees, above 0 disagrees, spanning 0 (or undefined, or {_too_few_ranked()}) "
        "inconclusive"
    )
    topic = "minimal ratio vs loss"
    table = tables.get("minimal_ratio")
    if table is None:
        return [
            _not_run(
                claim,
                MINIMAL_RATIO_SOURCE,
                paper,
                criterion,
                "minimal_ratio",
                topic,
                "experiment minimal_ratio",
            )
        ]
    conv = table[table["converged"].astype(bool)]
    n, k = len(table), len(conv)
    thr = table.attrs.get("threshold")
    head = (
        f"{fmt(k)} of {fmt(n)} runs converged"
        + (f" (‖∇L‖ < {fmt(float(thr))})" if thr is not None else "")
        + (f"; minimal ratio {_pm(conv['minimal_ratio'])} (mean ± sd over them)" if k else "")
    )
    if k >= MIN_RANKED:
        iv = stats.kendall_interval(conv["minimal_ratio"], conv["loss"], resamples=RESAMPLES)
        v = (
            interval_verdict(iv, 0.0, above_agrees=False)
            if math.isfinite(iv.estimate)
            else INCONCLUSIVE
        )
        head += f"; τ(minimal ratio, loss) = {_iv(iv)} → {v}"
    else:
        v = INCONCLUSIVE
        head += f"; τ: {_too_few_ranked()} → {v}"
    if k:
        head += _minimal_ratio_why(conv)
    return [Finding(claim, MINIMAL_RATIO_SOURCE, paper, head, v, criterion, "minimal_ratio", topic)]


def _minimal_ratio_why(conv: pd.DataFrame) -> str:
    """What the converged points' spectra say about the minimal ratio (why it may not show
    the lecture's picture)."""
    pos = float(conv["ratio_nonzero"].median())
    flat = float((conv["n_near_zero"] / conv["n_params"]).median())
    kind = (
        "minima up to flat directions"
        if pos >= 0.95
        else "saddle-like (negative curvature among the clearly non-zero eigenvalues)"
    )
    text = (
        f". Why ours may differ: a median {fmt_pct(pos)} of the clearly non-zero Hessian "
        f"eigenvalues are positive, so the converged points are {kind}; a median "
        f"{fmt_pct(flat)} of the eigenvalues lie in the zero band max(rtol · max|λ|, ‖∇L‖)"
    )
    if flat > 0.5:
        text += (
            ", so the minimal ratio mostly measures the flat directions, which depend on that "
            "band and on how far phase 2 drove ‖∇L‖ down, not only on the loss"
        )
    return text


# ----------------------------------------------------------------------------- 6. Li et al. §7

LI_SOURCE = (
    f"{papers.LI}, {papers.LI_TRAJECTORY.where}; read in {papers.LI_TRAJECTORY.read}; the "
    f"baseline: {papers.ANTOGNINI}, as {papers.ANTOGNINI_PC1_LIMIT.where} gives it "
    "(docs/papers.md §5)"
)


def li_trajectory_row(
    tables: Mapping[str, pd.DataFrame], config: Mapping[str, Any]
) -> list[Finding]:
    """Each run's own trajectory plane: its 2-PC share against a random walk's with as many
    snapshots, fitted the same way (PCA of θ_i − θ_final over the snapshots before the end)."""
    lo, hi = papers.LI_TRAJECTORY_SHARE
    claim = (
        "An optimization trajectory lies mostly in a low-dimensional plane: its first 2 "
        "principal components explain much of its variation, more than those of a random walk "
        "(Li et al. 2018 §7)."
    )
    pc1 = papers.ANTOGNINI_PC1_LIMIT
    paper = (
        f'"{papers.LI_TRAJECTORY.text}" ({fmt_pct(lo)}-{fmt_pct(hi)}; a secondary paraphrase: '
        f"the paper's own §7 sentence and figure are {NOT_FOUND}); protocol: PCA of "
        "θ_i − θ_final over the training snapshots. Baseline: a random walk's PC1 share tends "
        f"to 6/π² = {fmt(pc1.mean)} for long walks in high dimensions, in {pc1.where}"
    )
    criterion = (
        "the "
        + _bootstrap(RESAMPLES)
        + f" of the mean 2-PC share of our runs minus that of {fmt(WALKS)} isotropic Gaussian "
        f"random walks in {fmt(WALK_DIM)} dimensions with as many snapshots, fitted the same "
        "way: above 0 agrees, below 0 disagrees, spanning 0 (or fewer than "
        f"{fmt(MIN_SEEDS)} runs, or at most 4 snapshots a run, whose centred deviations span "
        "at most 2 dimensions) inconclusive"
    )
    topic = "Li: trajectory in a plane"
    table = tables.get("error_surface")
    if table is None:
        return [
            _not_run(
                claim,
                LI_SOURCE,
                paper,
                criterion,
                "error_surface",
                topic,
                "experiment error_surface",
            )
        ]
    runs = table.attrs.get("pca_runs") or []
    traj = table[table["kind"] == "trajectory"]
    counts = traj.groupby("run").size()
    snaps = sorted({int(counts.loc[r["run"]]) for r in runs if r["run"] in counts.index})
    if not runs or not snaps or max(snaps) < 3:
        return [
            Finding(
                claim,
                LI_SOURCE,
                paper,
                "the table has no per-run planes (attrs pca_runs) of 3 or more snapshots",
                INCONCLUSIVE,
                criterion,
                "error_surface",
                topic,
            )
        ]
    ours2 = np.array([sum(r["evr"]) for r in runs], float)
    ours1 = np.array([r["evr"][0] for r in runs], float)
    walks = np.concatenate(
        [
            stats.random_walk_explained_variance(s, dim=WALK_DIM, walks=WALKS, centre="last")
            for s in snaps
            if s >= 3
        ]
    )
    snap_text = "/".join(fmt(s) for s in snaps)
    text = (
        f"{fmt(len(runs))} runs with {snap_text} snapshots each: the own plane's 2-PC share "
        f"{_pm(ours2, 100)}% (PC1 {_pm(ours1, 100)}%), mean ± sd over runs; random walks with "
        f"as many snapshots {_pm(walks.sum(axis=1), 100)}% (PC1 {_pm(walks[:, 0], 100)}%)"
    )
    if max(snaps) - 2 <= 2:
        v = INCONCLUSIVE
        text += (
            f"; with {snap_text} snapshots the centred deviations span at most "
            f"{fmt(max(snaps) - 2)} dimensions, so 2 components explain all of any path's "
            f"variance → {v}"
        )
    elif len(ours2) < MIN_SEEDS:
        v = INCONCLUSIVE
        text += f"; fewer than {fmt(MIN_SEEDS)} runs → {v}"
    else:
        iv = stats.difference_interval(walks.sum(axis=1), ours2, resamples=RESAMPLES)
        v = interval_verdict(iv, 0.0)
        inside = int(((ours2 >= lo) & (ours2 <= hi)).sum())
        text += (
            f"; ours − random walk {_iv(iv, 100)} points, {_perm(walks.sum(axis=1), ours2)} → "
            f"{v}; {fmt(inside)} of "
            f"{fmt(len(runs))} runs lie in the {fmt_pct(lo)}-{fmt_pct(hi)} range"
        )
    return [Finding(claim, LI_SOURCE, paper, text, v, criterion, "error_surface", topic)]


# ----------------------------------------------------------------------------- all rows

# The rows in order; a new claim is one more builder here.
ROW_BUILDERS: list[RowBuilder] = [
    deep_vs_shallow_functions,
    deep_vs_shallow_cnn,
    keskar_rows,
    zhang_rows,
    novak_batch_size,
    novak_study,
    minimal_ratio_row,
    li_trajectory_row,
]


def findings(tables: Mapping[str, pd.DataFrame], config: Mapping[str, Any]) -> list[Finding]:
    """Every Findings row from the run's figure tables (figure -> table) and the report's
    config, in :data:`ROW_BUILDERS`' order."""
    out: list[Finding] = []
    for build in ROW_BUILDERS:
        out += build(tables, config)
    bad = [f.verdict for f in out if f.verdict not in VERDICTS]
    if bad:
        raise ValueError(f"verdicts not in {VERDICTS}: {bad}")
    return out
