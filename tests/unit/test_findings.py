"""The report's Findings rows (hw1.summaries.findings), each builder on small synthetic tables
whose answer is known or recomputed here independently (scipy's Kendall τ and binomial test,
means of logs, epochs × steps per epoch), and the Findings section of the report."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from hw1 import papers, stats
from hw1.summaries import findings as F
from hw1.summaries.common import fmt, fmt_pm


@pytest.fixture(autouse=True)
def _fewer_resamples(monkeypatch):
    """2,000 bootstrap resamples instead of 10,000 (the verdicts below are far from their
    boundaries; the criterion text states the number)."""
    monkeypatch.setattr(F, "RESAMPLES", 2000)


# The columns of each figure table, as tests/unit/test_report_md.py documents them.
COLUMNS = {
    "function_loss": "function model depth hidden params seed epoch split loss diverged",
    "cnn_depth": "dataset model depth hidden params seed epoch split loss accuracy diverged",
    "keskar": "dataset variant regime batch_size seed epochs train_loss train_accuracy test_loss "
    "test_accuracy eps method space sharpness model params train_size sharpness_examples "
    "subspace iterations epoch_limit patience rel_tol abs_tol",
    "flatness": "dataset variant batch_size seed split loss accuracy diverged sensitivity "
    "sharpness top_eigenvalue model params optimizer lr epochs sensitivity_examples test_size "
    "sharpness_examples train_size eps undertrained undertrained_margin",
    "random_labels": "dataset labels seed epoch split loss accuracy lr diverged model params "
    "batch_size schedule target_accuracy",
    "error_surface": "panel kind a b loss accuracy run epoch",
}


def one(rows: list[F.Finding], topic: str) -> F.Finding:
    (row,) = [r for r in rows if r.topic == topic]
    return row


# ----------------------------------------------------------------------------- helpers


def test_interval_verdict_and_combine():
    iv = stats.Interval
    assert F.interval_verdict(iv(1.0, 0.5, 2.0), 0.0) == "agrees"
    assert F.interval_verdict(iv(-1.0, -2.0, -0.5), 0.0) == "disagrees"
    assert F.interval_verdict(iv(0.1, -0.5, 0.7), 0.0) == "inconclusive"
    assert F.interval_verdict(iv(-1.0, -2.0, -0.5), 0.0, above_agrees=False) == "agrees"
    assert F.interval_verdict(iv(2.0, 1.2, 3.0), 1.0) == "agrees"
    assert F.interval_verdict(iv(0.9, 0.5, 1.1), 1.0) == "inconclusive"
    assert F.interval_verdict(iv(1.0, math.nan, math.nan), 0.0) == "inconclusive"
    assert F.combine(["agrees", "agrees"]) == "agrees"
    assert F.combine(["agrees", "inconclusive"]) == "mixed"
    assert F.combine(["disagrees"]) == "disagrees"


def test_no_tables_every_claim_not_run():
    rows = F.findings({}, {})
    assert len(rows) == 11
    assert {r.verdict for r in rows} == {"not run"}
    assert all(r.ours.startswith("not run in this configuration") for r in rows)
    assert all(r.claim and r.source and r.paper and r.criterion and r.figure for r in rows)


# ----------------------------------------------------------------------------- 1. deep vs shallow

DEPTHS = {"shallow": 1, "medium": 2, "deep": 5}


def function_table(test_loss: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """function_loss rows: epoch 0 at loss 1, the final epoch (1) at the given test losses
    per seed (and the same training loss for every model: the claim is about the test
    loss)."""
    rows = []
    for fn, models in test_loss.items():
        for model, losses in models.items():
            for seed, loss in enumerate(losses):
                for epoch, split in ((0, "train"), (0, "test"), (1, "train"), (1, "test")):
                    value = 1.0 if epoch == 0 else (0.05 if split == "train" else loss)
                    rows.append((fn, model, DEPTHS[model], "h", 472, seed, epoch, split, value))
    df = pd.DataFrame(rows, columns=COLUMNS["function_loss"].split()[:-1])
    df["diverged"] = False
    return df.sample(frac=1.0, random_state=0).reset_index(drop=True)  # order must not matter


LOW, HIGH = [0.010, 0.011, 0.012], [0.10, 0.11, 0.12]


def test_functions_deep_lower_agrees_equal_inconclusive_higher_disagrees():
    table = function_table(
        {
            "sin_sq": {"shallow": HIGH, "medium": [0.001] * 3, "deep": LOW},
            "cubic_exp": {"shallow": [0.05, 0.06, 0.07], "deep": [0.05, 0.06, 0.07]},
            "sinc": {"shallow": LOW, "deep": HIGH},
        }
    )
    (row,) = F.deep_vs_shallow_functions({"function_loss": table}, {})
    assert dict(row.parts) == {
        "sin_sq": "agrees",
        "cubic_exp": "inconclusive",
        "sinc": "disagrees",
    }
    assert row.verdict == "mixed"
    assert row.figure == "function_loss"
    # the factor: ratio of geometric means of the final test losses (shallow ÷ deep)
    ratio = math.exp(np.mean(np.log(HIGH)) - np.mean(np.log(LOW)))
    assert f"sin_sq: deep (5 hidden layers) {fmt(np.mean(LOW))} ± {fmt(np.std(LOW, ddof=1))}" in (
        row.ours
    )
    assert f"×{fmt(ratio)} [" in row.ours
    assert f"×{fmt(1 / ratio)} [" in row.ours  # sinc, the other way round
    # beside the interval, the exact permutation p of 3 vs 3 completely apart: 2 / C(6, 3)
    assert row.ours.count("permutation p = 0.1 →") == 2
    assert "no paper number" in row.paper


def test_functions_all_agree_and_a_diverged_seed_is_left_out():
    table = function_table(
        {fn: {"shallow": HIGH, "deep": LOW} for fn in ("sin_sq", "cubic_exp", "sinc")}
    )
    bad = table.iloc[:0].copy()
    for split in ("train", "test"):  # a diverged deep seed: huge loss, flagged
        bad.loc[len(bad)] = ["sinc", "deep", 5, "h", 472, 9, 1, split, 1e6, True]
    table = pd.concat([table, bad], ignore_index=True)
    (row,) = F.deep_vs_shallow_functions({"function_loss": table}, {})
    assert row.verdict == "agrees"
    assert "1 diverged run left out" in row.ours
    ratio = math.exp(np.mean(np.log(HIGH)) - np.mean(np.log(LOW)))
    assert row.ours.count(f"×{fmt(ratio)} [") == 3


def test_two_seeds_a_side_are_too_few_for_a_verdict():
    """Two seeds a side, clearly apart: the percentile interval is their range and excludes 0,
    but an exact permutation test gives p = 1/3, so no verdict."""
    table = function_table({"sinc": {"shallow": HIGH[:2], "deep": LOW[:2]}})
    (row,) = F.deep_vs_shallow_functions({"function_loss": table}, {})
    assert row.verdict == "inconclusive"
    assert "fewer than 3 seeds a side" in row.ours and "p ≥ 0.3333" in row.ours
    rows = F.keskar_rows(
        {"keskar": keskar_table([1.0, 1.1], [20.0, 22.0], [0.95] * 2, [0.9] * 2)}, {}
    )
    assert {r.verdict for r in rows} == {"inconclusive"}


def cnn_table(errors: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    rows = []
    for ds, models in errors.items():
        for model, errs in models.items():
            depth = int(model[-1])
            for seed, err in enumerate(errs):
                for split in ("train", "test"):
                    acc = 1 - err if split == "test" else 0.99
                    rows.append((ds, model, depth, "c", 25000, seed, 2, split, 0.1, acc, False))
    return pd.DataFrame(rows, columns=COLUMNS["cnn_depth"].split())


def test_cnn_depth_per_data_set():
    table = cnn_table(
        {
            "mnist": {"cnn1": [0.05, 0.051, 0.052], "cnn4": [0.02, 0.021, 0.022]},
            "fashion_mnist": {"cnn1": [0.10, 0.12, 0.11], "cnn4": [0.11, 0.10, 0.12]},
        }
    )
    (row,) = F.deep_vs_shallow_cnn({"cnn_depth": table}, {})
    assert row.parts == (("MNIST", "agrees"), ("Fashion-MNIST", "inconclusive"))
    assert row.verdict == "mixed"
    diff = 100 * (np.mean([0.05, 0.051, 0.052]) - np.mean([0.02, 0.021, 0.022]))
    assert f"MNIST: cnn4 (4 conv layers) test error {fmt(2.1)} ± {fmt(0.1)}%" in row.ours
    assert f"shallow − deep {fmt(diff)} [" in row.ours


# ----------------------------------------------------------------------------- 2. Keskar et al.


def keskar_table(sb_sharp, lb_sharp, sb_acc, lb_acc) -> pd.DataFrame:
    """Keskar-protocol rows: L-BFGS-B full space at two ε (the larger one counts) and a
    projected-ascent row that says the opposite (it must not be read)."""
    rows = []
    for variant, regime, bs, sharps, accs, train in (
        ("small_batch", "SB", 50, sb_sharp, sb_acc, (0.99, 0.995, 0.9925)),
        ("large_batch", "LB", 200, lb_sharp, lb_acc, (1.0, 0.9441, 0.98)),
    ):
        for seed, (sharp, acc) in enumerate(zip(sharps, accs, strict=True)):
            for eps, method, space, value in (
                (1e-3, "L-BFGS-B", "full", sharp),
                (5e-4, "L-BFGS-B", "full", 1.0 / sharp),
                (1e-3, "L-BFGS-B", "subspace", 1.0 / sharp),
                (1e-3, "projected ascent", "full", 1.0 / sharp),
            ):
                rows.append(
                    ("mnist", variant, regime, bs, seed, 6 + seed, 0.1, train[seed], 0.3, acc, eps,
                     method, space, value, "mlp 32", 25450, 2000, 500, 5, 10, 8, 2, 0.1, 1e-5)
                )  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS["keskar"].split())


def test_keskar_protocol_sharper_and_worse():
    sb, lb = [1.0, 1.2, 1.1], [20.0, 25.0, 22.0]
    table = keskar_table(sb, lb, [0.95, 0.951, 0.952], [0.93, 0.931, 0.932])
    rows = F.keskar_rows({"keskar": table}, {})
    sharp, worse = one(rows, "Keskar: LB minima sharper"), one(rows, "Keskar: LB generalizes worse")
    assert sharp.verdict == worse.verdict == "agrees"
    assert sharp.figure == worse.figure == "keskar"
    assert f"LB ÷ SB ×{fmt(np.mean(lb) / np.mean(sb))} [" in sharp.ours
    assert f"SB − LB {fmt(2.0)} [" in worse.ours
    # the stop rule, stated from the table's patience, rel_tol, abs_tol and epoch_limit
    rule = "until no seed's full training loss had fallen 10% and 1e-05 nats below its best for 2"
    assert f"{rule} epochs, at most 8 epochs" in sharp.ours
    # each regime's final training accuracy as a range over seeds (a seed short of a minimum)
    for row in (sharp, worse):
        assert "final training accuracy SB 99.00–99.50%, LB 94.41–100.00%" in row.ours
    # every seed at the same accuracy: one value, not "100.00–100.00"
    assert F._range(pd.Series([0.999996, 1.0]), 100) == "100.00"
    # the paper's F1 numbers come from hw1.papers, the protocol too
    full = papers.KESKAR_F1_SHARPNESS["full"][1e-3]
    assert f"×{fmt(full['LB'].mean / full['SB'].mean)}" in sharp.paper
    assert "SB 1.23 ± 0.83, LB 205.14 ± 69.52" in sharp.paper
    assert "SB 98.03% ± 0.07%, LB 97.81% ± 0.07%" in worse.paper
    assert papers.KESKAR_PROTOCOL in sharp.paper
    assert "Table 3" in sharp.paper and "Table 2" in worse.paper
    # the other cells of Tables 3-4, reported beside the judged one: ours from the table's
    # other rows (1 / sharpness there), the paper's from hw1.papers
    inv = np.mean(1 / np.array(lb)) / np.mean(1 / np.array(sb))
    for cell in ("full ε = 0.0005", "subspace ε = 0.001"):
        assert f"{cell} ×{fmt(inv)}" in sharp.ours
    assert "full ε = 0.001 ×" not in sharp.ours  # the judged cell is not repeated
    sub = papers.KESKAR_F1_SHARPNESS["subspace"][5e-4]
    assert f"subspace ε = 0.0005 (Table 4) ×{fmt(sub['LB'].mean / sub['SB'].mean)}" in sharp.paper
    assert "projected ascent" not in sharp.ours.split("other cells")[1]


def test_keskar_protocol_the_other_way_and_equal():
    table = keskar_table([20.0, 25.0, 22.0], [1.0, 1.2, 1.1], [0.9, 0.91, 0.92], [0.91, 0.92, 0.9])
    rows = F.keskar_rows({"keskar": table}, {})
    assert one(rows, "Keskar: LB minima sharper").verdict == "disagrees"
    assert one(rows, "Keskar: LB generalizes worse").verdict == "inconclusive"


def flatness_table(
    batch: dict[int, tuple[list[float], list[float], list[float]]],
    undertrained: frozenset[int] = frozenset(),
    train_acc: float = 0.99,
) -> pd.DataFrame:
    """batch-size sweep rows: per batch size (sharpness, test accuracy, sensitivity) per seed;
    training loss 0.1, test loss 0.1 + the gap the sensitivity implies (1 − test accuracy)."""
    rows = []
    for bs, (sharps, accs, sens) in batch.items():
        for seed, (sh, acc, se) in enumerate(zip(sharps, accs, sens, strict=True)):
            for split in ("train", "test"):
                loss = 0.1 if split == "train" else 0.1 + (1 - acc)
                a = train_acc if split == "train" else acc
                rows.append(
                    ("mnist", f"bs{bs}", bs, seed, split, loss, a, False, se, sh, 2 * sh,
                     "mlp 64", 55050, "adam", 0.001, 4, 500, 500, 500, 2000, 1e-3,
                     bs in undertrained, 0.005)
                )  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS["flatness"].split())


SWEEP = {
    16: ([1.0, 1.1, 1.2], [0.97, 0.971, 0.972], [1.0, 1.1, 1.2]),
    125: ([3.0, 3.1, 3.2], [0.96, 0.961, 0.962], [2.0, 2.1, 2.2]),
    1000: ([9.0, 9.5, 9.9], [0.94, 0.941, 0.942], [3.0, 3.1, 3.2]),
}


def test_keskar_from_the_batch_size_sweep_names_the_protocol_difference():
    rows = F.keskar_rows({"sharpness": flatness_table(SWEEP)}, {})
    sharp, worse = one(rows, "Keskar: LB minima sharper"), one(rows, "Keskar: LB generalizes worse")
    assert sharp.verdict == worse.verdict == "agrees"
    assert sharp.figure == "sharpness"
    assert f"LB ÷ SB ×{fmt(np.mean(SWEEP[1000][0]) / np.mean(SWEEP[16][0]))} [" in sharp.ours
    assert "batch 16 vs 1,000 (50% of the 2,000 training examples)" in sharp.ours
    for text in ("equal epochs", "projected gradient ascent, not L-BFGS-B", "not F1"):
        assert text in sharp.ours and text in worse.ours


def test_keskar_sweep_undertrained_large_batch_is_inconclusive():
    rows = F.keskar_rows({"sharpness": flatness_table(SWEEP, frozenset({1000}))}, {})
    worse = one(rows, "Keskar: LB generalizes worse")
    assert worse.verdict == "inconclusive"
    assert "batch 1,000 is undertrained" in worse.ours
    assert one(rows, "Keskar: LB minima sharper").verdict == "agrees"


def test_keskar_prefers_its_protocol_table():
    table = keskar_table([1.0, 1.2, 1.1], [20.0, 25.0, 22.0], [0.95] * 3, [0.93] * 3)
    rows = F.keskar_rows({"keskar": table, "sharpness": flatness_table(SWEEP)}, {})
    assert {r.figure for r in rows} == {"keskar"}


# ----------------------------------------------------------------------------- 3. Zhang et al.


def random_labels_config(true_batch: int = 100) -> dict:
    train = {
        "dataset": "mnist",
        "model": {"type": "mlp", "hidden": [8]},
        "optimizer": "adam",
        "lr": 0.001,
        "batch_size": 100,
        "epochs": 20,
        "seeds": 1,
    }
    return {
        "data": {"train_size": 1000, "test_size": 500},
        "experiments": {
            "random_labels": {
                "target_accuracy": 0.99,
                "train": train,
                "variants": {
                    "random": {"labels": "random"},
                    "true_labels": {"labels": "true", "batch_size": true_batch},
                },
            }
        },
    }


def random_labels_table(
    reach: dict[str, int | None], test_acc: float = 0.1, epochs: int = 20, true_batch: int = 100
) -> pd.DataFrame:
    """Training accuracy 0.5 until epoch ``reach[labels]``, then 0.995; the random labels'
    test accuracy ``test_acc``."""
    rows = []
    for labels, at in reach.items():
        for epoch in range(epochs + 1):
            train = 0.995 if at is not None and epoch >= at else 0.5
            test = test_acc if labels == "random" else 0.95
            bs = 100 if labels == "random" else true_batch
            for split, acc in (("train", train), ("test", test)):
                rows.append(("mnist", labels, 0, epoch, split, 1.0, acc, 1e-3, False, "mlp 8",
                             6360, bs, "Adam", 0.99))  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS["random_labels"].split())


def test_zhang_rows_name_our_protocol():
    rows = F.zhang_rows(
        {"random_labels": random_labels_table({"random": 12, "true": 4})}, random_labels_config()
    )
    for row in rows:
        ours = row.ours.split("our protocol, not the paper's: ")[1]
        assert "data: MNIST, 1,000 of 60,000 training and 500 of 10,000 test images" in ours
        for text in ("adam", "batch size 100", "mlp"):
            assert text in ours.lower(), (text, ours)
    assert "CIFAR10" in rows[0].paper  # the paper's protocol stays on its side


def test_zhang_time_factor_per_seed():
    seeds = [
        random_labels_table({"random": r, "true": t}).assign(seed=i)
        for i, (r, t) in enumerate(((10, 3), (12, 4), (17, 5)))
    ]
    rows = F.zhang_rows({"random_labels": pd.concat(seeds)}, random_labels_config())
    time = rows[2]
    assert time.ours.startswith("mean ± sd over 3 seeds")
    # the mean curve reaches 99.5% once every seed has: epoch 17 vs 5
    assert "reached at epoch 17 (random) vs 5 (true): ×3.4 in epochs" in time.ours
    assert f"per seed: {fmt_pm(13.0, np.std([10, 12, 17], ddof=1))} vs 4 ± 1 epochs" in time.ours


def test_zhang_time_factor_in_epochs_and_steps():
    rows = F.zhang_rows(
        {"random_labels": random_labels_table({"random": 12, "true": 4})}, random_labels_config()
    )
    time = one(rows, "Zhang: time factor")
    assert time.verdict == "agrees"
    # 1,000 training images, batch 100: 10 steps per epoch for both
    assert "at epoch 12 (random) vs 4 (true): ×3 in epochs, ×3 in optimizer steps (120 vs 40)" in (
        time.ours
    )
    assert "not found in the stored text" in time.paper
    assert papers.ZHANG_TIME.text in time.paper


def test_zhang_steps_follow_each_variants_batch_size():
    """True labels at batch 50 take 20 steps an epoch (⌊1000 / 50⌋), random at 100 take 10:
    epochs 12 vs 4 are 120 vs 80 steps, ×1.5."""
    rows = F.zhang_rows(
        {"random_labels": random_labels_table({"random": 12, "true": 4}, true_batch=50)},
        random_labels_config(true_batch=50),
    )
    assert (
        "×3 in epochs, ×1.5 in optimizer steps (120 vs 80)" in one(rows, "Zhang: time factor").ours
    )


def test_zhang_steps_drop_the_last_partial_batch():
    cfg = random_labels_config(true_batch=300)  # ⌊1000 / 300⌋ = 3 steps an epoch, not 4
    rows = F.zhang_rows(
        {"random_labels": random_labels_table({"random": 12, "true": 4}, true_batch=300)}, cfg
    )
    assert "×10 in optimizer steps (120 vs 12)" in one(rows, "Zhang: time factor").ours


def test_zhang_random_labels_not_reached_is_inconclusive():
    rows = F.zhang_rows(
        {"random_labels": random_labels_table({"random": None, "true": 4})},
        random_labels_config(),
    )
    time = one(rows, "Zhang: time factor")
    assert time.verdict == "inconclusive"
    assert "random labels not in 20 epochs: factor > 5 in epochs" in time.ours
    fit = one(rows, "Zhang: random labels memorised")
    assert (
        fit.verdict == "disagrees" and "accuracy on random labels 50% after 20 epochs" in fit.ours
    )


@pytest.mark.parametrize(
    ("test_acc", "verdict", "where"),
    [(0.1, "agrees", "around"), (0.2, "disagrees", "above"), (0.05, "agrees", "below")],
)
def test_zhang_memorised_and_test_accuracy_at_chance(test_acc, verdict, where):
    rows = F.zhang_rows(
        {"random_labels": random_labels_table({"random": 12, "true": 4}, test_acc=test_acc)},
        random_labels_config(),
    )
    fit = one(rows, "Zhang: random labels memorised")
    assert fit.verdict == "agrees"
    assert "final training accuracy on random labels 99.5% after 20 epochs (target 99%)" in (
        fit.ours
    )
    chance = one(rows, "Zhang: test accuracy at chance")
    assert chance.verdict == verdict
    # the exact binomial interval of the test accuracy on the config's 500 test images
    ci = sps.binomtest(round(test_acc * 500), 500).proportion_ci(method="exact")
    assert f"on 500 test images [{fmt(100 * ci.low)}, {fmt(100 * ci.high)}]%, {where} chance" in (
        chance.ours
    )
    assert (ci.low > 0.1) == (verdict == "disagrees")


# ----------------------------------------------------------------------------- 4. Novak et al.


def test_novak_tau_over_the_models_against_scipy():
    rng = np.random.default_rng(3)
    sweep = {
        bs: (
            [1.0, 1.0, 1.0],
            list(0.99 - 0.01 * i - rng.uniform(0, 0.004, 3)),
            list(1.0 + i + rng.uniform(0, 0.5, 3)),
        )
        for i, bs in enumerate((16, 64, 256, 1024))
    }
    table = flatness_table(sweep)
    (row,) = F.novak_batch_size({"sensitivity": table}, {})
    sens = np.concatenate([v[2] for v in sweep.values()])
    acc = np.concatenate([v[1] for v in sweep.values()])
    loss_gap = (0.1 + (1 - acc)) - 0.1
    acc_gap = 0.99 - acc
    for name, gap in (("test − train loss", loss_gap), ("train − test accuracy", acc_gap)):
        tau = sps.kendalltau(sens, gap).statistic
        assert f"τ(sensitivity, {name}) = {fmt(tau)} [" in row.ours
    assert row.verdict == "agrees"
    assert "12 models (4 batch sizes)" in row.ours
    assert "not found in the stored text" in row.paper
    # reversed: the most sensitive models generalize best
    flipped = {bs: (s, a, list(10 - np.array(se))) for bs, (s, a, se) in sweep.items()}
    (row,) = F.novak_batch_size({"sensitivity": flatness_table(flipped)}, {})
    assert row.verdict == "disagrees"
    # two batch sizes of two seeds: 4 models, too few to rank
    few = {bs: tuple(v[:2] for v in sweep[bs]) for bs in (16, 1024)}
    (row,) = F.novak_batch_size({"sensitivity": flatness_table(few)}, {})
    assert row.verdict == "inconclusive" and "fewer than 5 pairs" in row.ours


# ----------------------------------------------------------------------------- 5. minimal ratio


def minimal_ratio_table(ratio, loss, converged) -> pd.DataFrame:
    n = len(ratio)
    df = pd.DataFrame(
        {
            "run": np.arange(n),
            "loss": loss,
            "grad_norm": np.where(converged, 1e-3, 1e-1),
            "minimal_ratio": ratio,
            "ratio_nonzero": 1.0,
            "n_positive": 10,
            "n_negative": 0,
            "n_near_zero": 20,
            "n_params": 30,
            "tol": 1e-6,
            "converged": converged,
        }
    )
    df.attrs = {"threshold": 0.02}
    return df


def test_minimal_ratio_tau_of_the_converged_runs():
    rng = np.random.default_rng(1)
    loss = rng.uniform(1e-4, 1e-2, 14)
    conv = np.array([True] * 10 + [False] * 4)
    ratio = np.where(conv, 0.6 - 20 * loss + rng.normal(0, 0.01, 14), 0.2 + 30 * loss)
    (row,) = F.minimal_ratio_row({"minimal_ratio": minimal_ratio_table(ratio, loss, conv)}, {})
    tau = sps.kendalltau(ratio[conv], loss[conv]).statistic
    assert tau < -0.5
    assert f"τ(minimal ratio, loss) = {fmt(tau)} [" in row.ours
    assert row.ours.startswith("10 of 14 runs converged (‖∇L‖ < 0.02)")
    sd = np.std(ratio[conv], ddof=1)
    assert f"minimal ratio {fmt(ratio[conv].mean())} ± {fmt(sd)}" in row.ours
    assert row.verdict == "agrees"
    assert "minima up to flat directions" in row.ours
    assert f"a median {fmt(100 * 20 / 30)}% of the eigenvalues lie in the zero band" in row.ours
    assert "not found in the stored text" in row.paper


def test_minimal_ratio_too_few_converged():
    loss = np.linspace(0.001, 0.01, 5)
    conv = np.array([True, True, False, False, False])
    (row,) = F.minimal_ratio_row({"minimal_ratio": minimal_ratio_table(loss, loss, conv)}, {})
    assert row.verdict == "inconclusive"
    assert "2 of 5 runs converged" in row.ours and "τ: fewer than 5 pairs" in row.ours
    # four converged runs in perfect order are still too few (exact p = 2/4! ≈ 0.083)
    conv = np.array([True, True, True, True, False])
    (row,) = F.minimal_ratio_row({"minimal_ratio": minimal_ratio_table(-loss, loss, conv)}, {})
    assert row.verdict == "inconclusive" and "exact p = 0.08333" in row.ours


# ----------------------------------------------------------------------------- 6. Li et al.


def error_surface_table(evrs: list[list[float]], snapshots: int) -> pd.DataFrame:
    rows = [("random", "surface", 0.0, 0.0, 1.0, 0.5, pd.NA, pd.NA)]
    for run in range(len(evrs)):
        for k in range(snapshots):
            rows.append(("run", "trajectory", float(k), 0.0, 1.0, 0.5, run, 2 * k))
    df = pd.DataFrame(rows, columns=COLUMNS["error_surface"].split())
    df.attrs = {
        "pca_runs": [{"run": r, "evr": e, "median_off_plane": 0.1} for r, e in enumerate(evrs)]
    }
    return df


def test_li_trajectory_plane_against_the_random_walk():
    walks = stats.random_walk_explained_variance(11, centre="last")
    walk2 = walks.sum(axis=1)
    high = [[0.9, 0.08], [0.92, 0.07], [0.91, 0.075]]  # above the walk's ~80%
    (row,) = F.li_trajectory_row({"error_surface": error_surface_table(high, 11)}, {})
    assert row.verdict == "agrees"
    assert f"random walks with as many snapshots {fmt(100 * walk2.mean())} ±" in row.ours
    diff = 100 * (np.mean([sum(e) for e in high]) - walk2.mean())
    assert f"ours − random walk {fmt(diff)} [" in row.ours
    assert "3 runs with 11 snapshots each" in row.ours
    assert "0 of 3 runs lie in the 40%-90% range" in row.ours
    assert f"6/π² = {fmt(6 / math.pi**2)}" in row.paper
    assert "secondary" in row.paper
    low = [[0.32, 0.1], [0.35, 0.1], [0.32, 0.12]]  # a trajectory less planar than a walk
    (row,) = F.li_trajectory_row({"error_surface": error_surface_table(low, 11)}, {})
    assert row.verdict == "disagrees"
    assert "3 of 3 runs lie in the 40%-90% range" in row.ours


def test_li_few_snapshots_cannot_tell():
    (row,) = F.li_trajectory_row(
        {"error_surface": error_surface_table([[0.7, 0.3], [0.6, 0.4]], 4)}, {}
    )
    assert row.verdict == "inconclusive"
    assert "span at most 2 dimensions" in row.ours


# ----------------------------------------------------------------------------- the report


def test_report_renders_every_finding(tmp_path):
    from hw1.report import findings_html, findings_markdown, report_html, report_markdown

    tables = {
        "function_loss": function_table({"sin_sq": {"shallow": HIGH, "deep": LOW}}),
        "random_labels": random_labels_table({"random": 12, "true": 4}),
    }
    rows = F.findings(tables, random_labels_config())
    images = {"function_loss": "figures/function_loss.png", "random_labels": "figures/rl.png"}
    md = "\n".join(findings_markdown(rows, images))
    lines = [ln for ln in md.splitlines() if ln.startswith("| ") and "---" not in ln][1:]
    assert len(lines) == len(rows)
    for row, line in zip(rows, lines, strict=True):
        assert row.claim in line
        assert f"**{row.verdict}**" in line
        if row.verdict == "not run":
            assert f"{row.figure} (not drawn)" in line
        else:
            assert f"[{row.figure}]({images[row.figure]})" in line
    page = "\n".join(findings_html(rows, images))
    assert page.count("<tr>") == len(rows) + 1
    assert '<a href="#function_loss">' in page and '<a href="#random_labels">' in page
    assert page.count('<strong class="verdict">') == len(rows)
    assert re.search(r"\bnan\b|\bNone\b", md + page) is None
    assert "## Findings" in report_markdown([], images, rows)
    assert '<section id="findings">' in report_html([], images, rows)
    assert "## Findings" not in report_markdown([], images)


def test_novak_across_the_study_reads_tau_from_the_measures_table(tmp_path):
    """The study-wide row quotes the measures table's τ of sensitivity (SciPy's τ over every
    model of a data set) with its interval, and agrees only when the interval is above 0."""
    from hw1.io import write_parquet
    from hw1.tables.generalization import table_generalization_measures

    rng = np.random.default_rng(5)
    rows = []
    for i in range(24):
        gap = rng.uniform(0, 0.1)
        rows.append({"dataset": "mnist", "experiment": "batch_size" if i % 2 else "cnn_depth",
                     "variant": f"v{i % 4}", "seed": i // 4, "labels": "true", "model": "m",
                     "loss_gap": gap, "accuracy_gap": gap + rng.normal(0, 0.01),
                     "sensitivity": 5 * gap + rng.normal(0, 0.05), "sharpness": rng.uniform(1, 2),
                     "top_eigenvalue": rng.uniform(1, 2), "param_norm": rng.uniform(1, 2),
                     "params": 10 + i})  # fmt: skip
    models = pd.DataFrame(rows)
    path = tmp_path / "m.parquet"
    write_parquet(models, path, metadata={"analysis": "generalization_measures"})
    table = table_generalization_measures({"analysis": [str(path)]}, {})
    (row,) = F.novak_study({"generalization_measures": table}, {})
    tau = sps.kendalltau(models["sensitivity"], models["loss_gap"]).statistic
    assert f"τ(sensitivity, test − train loss) = {fmt(tau)} [" in row.ours
    assert row.verdict == "agrees" and row.figure == "generalization_measures"
    assert "24 models" in row.ours and "not found in the stored text" in row.paper
    models["sensitivity"] = -models["sensitivity"]
    write_parquet(models, path, metadata={"analysis": "generalization_measures"})
    table = table_generalization_measures({"analysis": [str(path)]}, {})
    (row,) = F.novak_study({"generalization_measures": table}, {})
    assert row.verdict == "disagrees"
    (row,) = F.novak_study({}, {})
    assert row.verdict == "not run"


def test_keskar_summary_names_where_l_bfgs_b_stopped_short_of_the_ascent():
    """Both maximisers bound the box's maximum from below: where the ascent finds more than
    twice L-BFGS-B's value on the same minima, the figure's words say L-BFGS-B stopped short,
    naming the regime, ε and both numbers; where they agree, nothing is said; runs that used
    every epoch are named as stopped at the limit."""
    from hw1.summaries.generalization import _keskar_one

    # LB: L-BFGS-B 0.05 at ε 1e-3, the ascent row 1/0.05 = 20 (the helper's ascent is 1/sharp)
    stalled = keskar_table([1.0, 1.0, 1.0], [0.05, 0.05, 0.05], [0.95] * 3, [0.93] * 3)
    obs = _keskar_one(stalled).observation
    assert f"LB at ε=0.001 ({fmt(0.05)} against {fmt(20.0)})" in obs
    assert "stopped short" in obs and "SB at" not in obs
    agreed = _keskar_one(keskar_table([1.0] * 3, [1.0] * 3, [0.95] * 3, [0.93] * 3)).observation
    assert "stopped short" not in agreed
    # the helper's runs train 6-8 epochs against a limit of 8: the mean (7) is under it
    assert "at the limit" not in obs
    limited = stalled.assign(epochs=8)
    assert "SB and LB stopped at the limit" in _keskar_one(limited).observation
