"""The homework report (results/report.md, homework.html) and the figure captions, checked on
synthetic tables of all figures whose numbers the tests recompute independently."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from hw1.catalogue import CATALOGUE
from hw1.catalogue import figure as catalogued
from hw1.io import read_parquet, write_parquet
from hw1.report import REPORT_INTRO, build_report, caption_rst, rst_escape, write_caption
from hw1.summaries import summarize
from hw1.summaries.common import display_table, figure_config, fmt, report_config
from tests.conftest import REPO

# Catalogued figures without a synthetic table here (none: any figure without one fails
# test_every_figure_has_a_synthetic_table).
PENDING: set[str] = set()
FIGURE_ORDER = [f.name for f in CATALOGUE if f.name not in PENDING]

CONFIG = yaml.safe_load((REPO / "tests/config/smoke.yaml").read_text())
SEEDS = [0, 1]

# The columns of each figure's table, as its builder in src/hw1/tables (or analysis) writes it.
COLUMNS = {
    "function_loss": "function model depth hidden params seed epoch split loss diverged",
    "function_fit": "function model depth hidden params seed x y_true y_pred",
    "cnn_depth": "dataset model depth hidden params seed epoch split loss accuracy diverged",
    "random_labels": "dataset labels seed epoch split loss accuracy lr diverged model params "
    "batch_size schedule target_accuracy",
    "params_vs_generalization": "dataset model hidden params seed split loss accuracy diverged "
    "epochs schedule",
    "interpolation": "dataset pair model1 model2 alpha split loss accuracy seed epochs label1 "
    "label2 model",
    "sensitivity": "dataset variant batch_size seed split loss accuracy diverged sensitivity "
    "sharpness top_eigenvalue model params optimizer lr epochs sensitivity_examples test_size "
    "sharpness_examples train_size eps undertrained undertrained_margin",
    "keskar": "dataset variant regime batch_size seed epochs train_loss train_accuracy test_loss "
    "test_accuracy eps method space sharpness model params train_size sharpness_examples "
    "subspace iterations epoch_limit patience rel_tol abs_tol",
    # the columns of the synthetic models; a real analysis adds its run settings and metrics
    "generalization_measures": "dataset experiment variant seed labels model loss_gap "
    "accuracy_gap measure value tau_loss_gap tau_loss_gap_low tau_loss_gap_high psi_loss_gap "
    "psi_groups_loss_gap Psi_loss_gap tau_accuracy_gap tau_accuracy_gap_low "
    "tau_accuracy_gap_high psi_accuracy_gap psi_groups_accuracy_gap Psi_accuracy_gap n_models",
}


# ----------------------------------------------------------------------------- synthetic tables


def _on(df: pd.DataFrame, dataset: str = "mnist") -> pd.DataFrame:
    """``df`` as the rows of one data set (the ``dataset`` column first, as the builders
    write it)."""
    df = df.copy()
    df.insert(0, "dataset", dataset)
    return df


def _function_loss(rng) -> pd.DataFrame:
    models = [("shallow", 1, "mlp 157", 472), ("medium", 2, "mlp 23-17", 472)]
    models += [("deep", 5, "mlp 10-10-10-10-10", 471)]
    rows = []
    for fn in ("sin_sq", "cubic_exp", "sinc"):
        for m, depth, hidden, params in models:
            for seed in SEEDS:
                for epoch in range(4):
                    for split in ("train", "test"):
                        loss = float(rng.uniform(0.01, 1.0)) / (1 + epoch)
                        div = fn == "sinc" and m == "deep" and seed == 1 and epoch >= 2
                        loss = np.nan if div else loss
                        rows.append((fn, m, depth, hidden, params, seed, epoch, split, loss, div))
    return pd.DataFrame(rows, columns=COLUMNS["function_loss"].split())


def _function_fit(rng) -> pd.DataFrame:
    rows = []
    x = np.linspace(-1, 1, 9)
    for fn in ("sin_sq", "cubic_exp", "sinc"):
        for m, depth, params, noise in (("shallow", 1, 472, 0.3), ("deep", 5, 471, 0.1)):
            for seed in SEEDS:
                pred = np.sin(x) + rng.normal(0, noise, len(x))
                for xi, yt, yp in zip(x, np.sin(x), pred, strict=True):
                    rows.append((fn, m, depth, f"mlp {m}", params, seed, xi, yt, yp))
    return pd.DataFrame(rows, columns=COLUMNS["function_fit"].split())


def _cnn_depth(rng) -> pd.DataFrame:
    rows = []
    for m, depth, params in (("cnn1", 1, 25354), ("cnn2", 2, 25108), ("cnn4", 4, 25034)):
        for seed in SEEDS:
            for epoch in range(3):
                for split in ("train", "test"):
                    loss, acc = rng.uniform(0.05, 2.0), rng.uniform(0.5, 0.99)
                    row = (m, depth, f"cnn {m}", params, seed, epoch, split, loss, acc, False)
                    rows.append(row)
    return _on(pd.DataFrame(rows, columns=COLUMNS["cnn_depth"].split()[1:]))


def _pca(rng) -> pd.DataFrame:
    rows = []
    for part, n, evr in (("whole", 13002, (0.55, 0.2)), ("layer1", 12560, (0.4, 0.15))):
        for run in range(3):
            for epoch in (0, 2, 4, 6):
                pc, loss, acc = rng.normal(size=2), rng.uniform(0.1, 2), rng.uniform(0.1, 0.99)
                rows.append((run, epoch, part, *pc, loss, acc, *evr, n))
    cols = ["run", "epoch", "part", "pc1", "pc2", "loss", "accuracy", "evr1", "evr2", "n_params"]
    df = pd.DataFrame(rows, columns=cols)
    df.attrs = {"model": "mlp 16-16", "n_params": 13002, "layer1": "0.weight", "epochs": 6}
    return df


def _grad_norm(rng) -> pd.DataFrame:
    frames = []
    for case, ds, n, steps in (("sinc", "sinc", 472, 50), ("mnist", "mnist", 13002, 250)):
        frames.append(
            pd.DataFrame(
                {
                    "case": case,
                    "dataset": ds,
                    "model": "mlp 16-16",
                    "n_params": n,
                    "batch_size": 50,
                    "seed": 0,
                    "epoch": np.arange(steps) // 10 + 1,
                    "step": np.arange(1, steps + 1),
                    "loss": rng.uniform(0.01, 3, steps),
                    "grad_norm": rng.uniform(0.01, 3, steps),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _minimal_ratio(rng) -> pd.DataFrame:
    n = 8
    conv = np.array([True, True, False, True, True, False, True, False])
    eig = [np.sort(rng.normal(0, 1, 61) * np.logspace(-9, 1, 61)) for _ in range(n)]
    grad = np.where(conv, 0.01, 0.05)
    tol = np.array([max(1e-6 * np.abs(e).max(), g) for e, g in zip(eig, grad, strict=True)])
    pos = np.array([(e > t).sum() for e, t in zip(eig, tol, strict=True)])
    neg = np.array([(e < -t).sum() for e, t in zip(eig, tol, strict=True)])
    df = pd.DataFrame(
        {
            "run": np.arange(n),
            "loss": rng.uniform(1e-4, 1e-2, n),
            "grad_norm": grad,
            "minimal_ratio": pos / 61,
            "ratio_nonzero": pos / (pos + neg),
            "n_positive": pos,
            "n_negative": neg,
            "n_near_zero": 61 - pos - neg,
            "n_params": 61,
            "tol": tol,
            "converged": conv,
            "steps": rng.integers(1, 100, n),
            "eigenvalues": eig,
            "loss_phase1": rng.uniform(1e-3, 1e-1, n),
            "grad_norm_phase1": rng.uniform(1e-2, 1e-1, n),
        }
    )
    df.attrs = {
        "threshold": 0.02,
        "max_steps": 100,
        "lr": 0.001,
        "optimizer": "adam",
        "tol": 1e-6,
        "model": "mlp 6-6",
        "activation": "tanh",
        "dataset": "sinc",
        "n_train": 200,
        "n_runs": n,
        "n_converged": int(conv.sum()),
    }
    return df


def _error_surface(rng) -> pd.DataFrame:
    g = np.linspace(-1, 1, 5)
    aa, bb = (v.ravel() for v in np.meshgrid(g, g))
    rnd = pd.DataFrame({"panel": "random", "kind": "surface", "a": aa, "b": bb})
    rnd["loss"] = 0.5 + aa**2 + bb**2
    frames = [rnd.assign(run=pd.NA, epoch=pd.NA)]
    for run in range(3):
        own = pd.DataFrame({"panel": "run", "kind": "surface", "a": 3 * aa, "b": 2 * bb})
        own["loss"] = rng.uniform(0.2, 3, len(own))
        own.loc[(own.a == 0) & (own.b == 0), "loss"] = 0.1 + run  # grid point at the end
        frames.append(own.assign(run=run, epoch=pd.NA))
        frames.append(
            pd.DataFrame(
                {
                    "panel": "run",
                    "kind": "trajectory",
                    "a": [*rng.normal(size=3), 0.0],
                    "b": [*rng.normal(size=3), 0.0],
                    "loss": [*rng.uniform(0.5, 3, 3), 0.1 + run],
                    "run": run,
                    "epoch": [0, 2, 4, 6],
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    df["accuracy"] = rng.uniform(0.1, 0.99, len(df))
    df["run"] = df["run"].astype("Int64")
    df["epoch"] = df["epoch"].astype("Int64")
    df = df[["panel", "kind", "a", "b", "loss", "accuracy", "run", "epoch"]]
    df.attrs = {
        "model": "mlp 16-16",
        "n_params": 13002,
        "center_seed": 0,
        "center_epoch": 6,
        "direction_seed": 0,
        "span": 1.0,
        "grid": 5,
        "n_examples": 500,
        "pca_runs": [
            {"run": r, "evr": [0.6, 0.2 + 0.05 * r], "median_off_plane": 0.1} for r in range(3)
        ],
        "n_runs": 3,
    }
    return df


TRAIN_ACC = {
    "random": [0.1, 0.2, 0.5, 0.8, 0.97, 0.992, 0.999],  # 99% first at epoch 5
    "true": [0.1, 0.9, 0.991, 0.995, 0.999, 1.0, 1.0],  # at epoch 2
}


def _random_labels(rng) -> pd.DataFrame:
    rows = []
    for kind, accs in TRAIN_ACC.items():
        for epoch, acc in enumerate(accs):
            for split in ("train", "test"):
                a = acc if split == "train" else rng.uniform(0.05, 0.15)
                rows.append((kind, 0, epoch, split, rng.uniform(0.01, 2.3), a, 0.002, False))
    df = pd.DataFrame(rows, columns=COLUMNS["random_labels"].split()[1:9])
    return _on(
        df.assign(
            model="mlp 128-128",
            params=118282,
            batch_size=100,
            schedule="Adam lr 0.002, cosine to 0 over 6 epochs",
            target_accuracy=0.99,
        )
    )


def _params_vs_generalization(rng) -> pd.DataFrame:
    rows = []
    for m, params in (("h2", 1600), ("h16", 12730), ("h128", 101770), ("h512", 407050)):
        for seed in SEEDS:
            for split in ("train", "test"):
                loss, acc = rng.uniform(0.05, 2), rng.uniform(0.3, 0.99)
                rows.append(
                    (m, f"mlp {m[1:]}", params, seed, split, loss, acc, False, 5, "Adam lr 0.002")
                )
    return _on(pd.DataFrame(rows, columns=COLUMNS["params_vs_generalization"].split()[1:]))


# (pair, split) -> (loss at 0, loss at 1, barrier height at alpha 0.5)
BARRIERS = {
    ("batch_size", "train"): (0.1, 0.15, 2.0),
    ("batch_size", "test"): (0.2, 0.25, 1.0),
    ("learning_rate", "train"): (0.1, 0.3, 0.7),
    ("learning_rate", "test"): (0.2, 0.4, 3.0),  # highest, but on the test split
}


def _interpolation(rng) -> pd.DataFrame:
    alphas = np.round(np.linspace(-1, 2, 61), 10)
    pairs = {"batch_size": ("small_batch", "large_batch"), "learning_rate": ("small_batch", "lr")}
    rows = []
    for pair, (m1, m2) in pairs.items():
        for a in alphas:
            for split in ("train", "test"):
                l0, l1, h = BARRIERS[(pair, split)]
                loss = l0 + (l1 - l0) * a + 4 * h * abs(a * (1 - a))
                rows.append((pair, m1, m2, a, split, loss, rng.uniform(0.1, 0.99), 0, 4))
    df = pd.DataFrame(rows, columns=COLUMNS["interpolation"].split()[1:10])
    labels = {"small_batch": "batch 20", "large_batch": "batch 500", "lr": "batch 20, lr 0.01"}
    return _on(
        df.assign(label1=df["model1"].map(labels), label2=df["model2"].map(labels), model="mlp 64")
    )


def _flatness(rng) -> pd.DataFrame:
    rows = []
    for bs in (16, 125, 1000):
        for seed in SEEDS:
            meas = rng.uniform(0.5, 5, 3)
            for split in ("train", "test"):
                loss, acc = rng.uniform(0.01, 1), rng.uniform(0.8, 1)
                rest = ("mlp 64-64", 55050, "adam", 0.001, 4, 500, 500, 500, 2000, 0.001)
                low = (bs == 1000, 0.005)  # the largest batch size marked undertrained
                rows.append((f"bs{bs}", bs, seed, split, loss, acc, False, *meas, *rest, *low))
    return _on(pd.DataFrame(rows, columns=COLUMNS["sensitivity"].split()[1:]))


def _keskar(rng) -> pd.DataFrame:
    rows = []
    for variant, regime, bs in (("small_batch", "SB", 50), ("large_batch", "LB", 200)):
        for seed in SEEDS:
            acc = (rng.uniform(0.95, 1), rng.uniform(0.9, 0.95))
            for eps in (1e-3, 5e-4):
                for method, space in (("L-BFGS-B", "full"), ("L-BFGS-B", "subspace"),
                                      ("projected ascent", "full")):  # fmt: skip
                    sharp = rng.uniform(1, 5) * (10 if regime == "LB" else 1)
                    rows.append((variant, regime, bs, seed, 8, 0.1, *acc[:1], 0.3, acc[1], eps,
                                 method, space, sharp, "mlp 32", 25450, 2000, 500, 5, 10, 8,
                                 2, 0.0, 0.0))  # fmt: skip
    return _on(pd.DataFrame(rows, columns=COLUMNS["keskar"].split()[1:]))


def _measures(rng) -> pd.DataFrame:
    """The measures table as its builder makes it, from synthetic models (its τ are tested
    against SciPy in test_generalization.py)."""
    import tempfile

    from hw1.tables.generalization import table_generalization_measures

    rows = []
    for ds in ("mnist", "fashion_mnist"):
        for i in range(12):
            gap = rng.uniform(0, 0.1)
            rows.append({"dataset": ds, "experiment": "batch_size" if i % 2 else "cnn_depth",
                         "variant": f"v{i % 4}", "seed": i // 4, "labels": "true",
                         "model": "mlp 8", "loss_gap": gap, "accuracy_gap": gap / 2,
                         "sensitivity": gap + rng.uniform(0, 0.05), "sharpness": rng.uniform(1, 9),
                         "top_eigenvalue": rng.uniform(1, 9), "param_norm": rng.uniform(1, 2),
                         "params": 10 + i})  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/m.parquet"
        meta = {"analysis": "generalization_measures", "eps": 1e-3, "ascent_steps": 5,
                "hessian_iters": 10, "sensitivity_examples": 200}  # fmt: skip
        write_parquet(pd.DataFrame(rows), path, metadata=meta)
        return table_generalization_measures({"analysis": [path]}, {})


BUILDERS = {
    "function_loss": _function_loss,
    "function_fit": _function_fit,
    "cnn_depth": _cnn_depth,
    "pca_trajectories": _pca,
    "grad_norm": _grad_norm,
    "minimal_ratio": _minimal_ratio,
    "error_surface": _error_surface,
    "random_labels": _random_labels,
    "params_vs_generalization": _params_vs_generalization,
    "interpolation": _interpolation,
    "sensitivity": _flatness,
    "sharpness": _flatness,
    "keskar": _keskar,
    "generalization_measures": _measures,
}


def test_every_figure_has_a_synthetic_table():
    assert {f.name for f in CATALOGUE} - set(BUILDERS) <= PENDING
    assert set(BUILDERS) <= {f.name for f in CATALOGUE}


@pytest.fixture(scope="module", autouse=True)
def _fewer_resamples():
    """The Findings' intervals with 2,000 bootstrap resamples (their tests are in
    test_findings.py; here only the layout and the numbers of the figures are checked)."""
    from hw1.summaries import findings

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(findings, "RESAMPLES", 2000)
        yield


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return {f: BUILDERS[f](np.random.default_rng(i)) for i, f in enumerate(FIGURE_ORDER)}


@pytest.fixture(scope="module")
def report(tables, tmp_path_factory) -> tuple[Path, str, str]:
    """report.md and homework.html of all the figures, written from Parquet tables (so the
    tables' attrs go through the file as in the workflow)."""
    root = tmp_path_factory.mktemp("report")
    paths, pngs = {}, {}
    for f in reversed(FIGURE_ORDER):  # the report restores the homework's order
        paths[f] = root / f"results/tables/{f}.parquet"
        write_parquet(tables[f], paths[f], metadata={"figure": f})
        pngs[f] = root / f"results/figures/{f}.png"
    md, page = root / "results/report.md", root / "results/homework.html"
    build_report(paths, pngs, report_config(CONFIG), md, page, root / "results/findings.txt")
    return root, md.read_text(), page.read_text()


@pytest.fixture(scope="module")
def finding_rows(tables, report):
    """The Findings rows of the same tables, read back from their files as the report read
    them (attrs included)."""
    from hw1.summaries.findings import findings

    root = report[0]
    back = {f: read_parquet(root / f"results/tables/{f}.parquet") for f in FIGURE_ORDER}
    return findings(back, report_config(CONFIG))


def summary(tables, figure):
    return summarize(figure, tables[figure], figure_config(CONFIG, figure))


def final_means(df: pd.DataFrame, keys: list[str], col: str) -> pd.Series:
    """Mean over seeds of ``col`` at each group's last epoch, diverged seeds left out."""
    last = df[df["epoch"] == df.groupby(keys)["epoch"].transform("max")]
    return last[~last["diverged"]].groupby(keys)[col].mean()


# ----------------------------------------------------------------------------- tests


def test_synthetic_tables_have_the_documented_columns(tables):
    from hw1.analysis.columns import ERROR_SURFACE_COLUMNS, MINIMAL_RATIO_COLUMNS
    from hw1.tables.optimization import GRAD_NORM_COLUMNS, PCA_COLUMNS

    documented = {f: c.split() for f, c in COLUMNS.items()}
    documented["sharpness"] = documented["sensitivity"]
    documented |= {
        "pca_trajectories": PCA_COLUMNS,
        "grad_norm": GRAD_NORM_COLUMNS,
        "minimal_ratio": MINIMAL_RATIO_COLUMNS,
        "error_surface": ERROR_SURFACE_COLUMNS,
    }
    assert set(documented) == set(FIGURE_ORDER)
    for f, cols in documented.items():
        assert list(tables[f].columns) == list(cols), f


def test_formatter():
    assert fmt(0.123456) == "0.1235"
    assert fmt(25354) == "25,354"
    assert fmt(np.int64(472)) == "472"
    assert fmt(123456.7) == "123,500"
    assert fmt(1.5e-5) == "1.5e-05"
    assert fmt(float("nan")) == "n/a"
    assert fmt(None) == "n/a"


def test_function_loss_numbers_and_best_depth(tables):
    df = tables["function_loss"]
    s = summary(tables, "function_loss")
    train = final_means(df[df["split"] == "train"], ["function", "model"], "loss")
    test = final_means(df[df["split"] == "test"], ["function", "model"], "loss")
    got = s.numbers.set_index(["function", "model"])
    assert len(got) == 9
    np.testing.assert_allclose(got["final train loss"], train.loc[got.index], rtol=1e-12)
    np.testing.assert_allclose(got["final test loss"], test.loc[got.index], rtol=1e-12)
    # the diverged seed is out: sinc/deep averages one seed and has no sd
    assert np.isnan(got.loc[("sinc", "deep"), "final train loss sd"])
    assert "1 diverged run left out" in s.note
    for fn in ("sin_sq", "cubic_exp", "sinc"):
        t = train.loc[fn]
        want = f"{fn}: {t.idxmin()} ("
        assert want in s.observation
        assert f"{fmt(t.min())}, {fmt(t.max() / t.min())}× below {t.idxmax()})" in s.observation
    # models ordered by depth, as in the figure
    assert list(s.numbers["model"][:3]) == ["shallow", "medium", "deep"]


def test_function_fit_mse(tables):
    df = tables["function_fit"]
    s = summary(tables, "function_fit")
    mse = (
        df.assign(e=(df.y_pred - df.y_true) ** 2)
        .groupby(["function", "model", "seed"])["e"]
        .mean()
        .groupby(["function", "model"])
        .mean()
    )
    got = s.numbers.set_index(["function", "model"])["test-grid MSE"]
    np.testing.assert_allclose(got, mse.loc[got.index], rtol=1e-12)
    for fn in ("sin_sq", "cubic_exp", "sinc"):
        assert f"{fn}: {mse.loc[fn].idxmin()} (MSE {fmt(mse.loc[fn].min())}" in s.observation


def test_cnn_depth_numbers_and_observation(tables):
    df = tables["cnn_depth"]
    s = summary(tables, "cnn_depth")
    acc = final_means(df[df["split"] == "test"], ["model"], "accuracy")
    loss = final_means(df[df["split"] == "train"], ["model"], "loss")
    got = s.numbers.set_index("model")
    np.testing.assert_allclose(got["final test accuracy"], acc.loc[got.index], rtol=1e-12)
    np.testing.assert_allclose(got["final train loss"], loss.loc[got.index], rtol=1e-12)
    sd = df[(df.split == "test") & (df.epoch == 2)].groupby("model")["accuracy"].std()
    np.testing.assert_allclose(got["final test accuracy sd"], sd.loc[got.index], rtol=1e-12)
    assert s.observation.startswith(f"After 2 epochs, {loss.idxmin()} (")
    assert f"{fmt(loss.max() / loss.min())}× below {loss.idxmax()}" in s.observation
    assert f"{acc.idxmax()} the highest test accuracy, {fmt(acc.max())}." in s.observation
    assert any("25,354 parameters" in x for x in s.settings)
    assert any("Adam, lr 0.002" in x for x in s.settings)


def test_pca_explained_variance(tables):
    df = tables["pca_trajectories"]
    s = summary(tables, "pca_trajectories")
    np.testing.assert_allclose(s.numbers["PC1+PC2 (%)"], [75.0, 55.0])
    assert s.observation.startswith(
        "For the 3 runs' weight snapshots the first two principal components explain 75% of "
        "the variance for the whole model and 55% for the first layer;"
    )
    last = df[df.epoch == 6].drop_duplicates("run")["accuracy"]
    assert f"{fmt(last.min())} to {fmt(last.max())}" in s.observation


def test_grad_norm_first_and_last(tables):
    df = tables["grad_norm"]
    s = summary(tables, "grad_norm")
    for case, n in (("sinc", 50), ("mnist", 250)):
        g = df[df.case == case].sort_values("step")
        w = max(1, n // 100)
        first, last = g.grad_norm.iloc[:w].mean(), g.grad_norm.iloc[-w:].mean()
        row = s.numbers.set_index("case").loc[case]
        assert row["first grad norm"] == pytest.approx(first, rel=1e-12)
        assert row["last grad norm"] == pytest.approx(last, rel=1e-12)
        assert (
            f"in case {case} the minibatch gradient norm went from {fmt(first)} to {fmt(last)} "
            f"(×{fmt(last / first)}) over {n} iterations"
        ) in s.observation.replace("In case", "in case")


def test_minimal_ratio_share_and_median(tables):
    df = tables["minimal_ratio"]
    s = summary(tables, "minimal_ratio")
    conv = df[df.converged]
    assert s.observation.startswith("5 of 8 runs (62.5%) reached ‖∇L‖ < 0.02")
    assert f"median {fmt(conv.minimal_ratio.median())}" in s.observation
    got = s.numbers.set_index("runs")
    assert got["count"].tolist() == [5, 3, 8]
    assert got["median minimal ratio"].iloc[2] == pytest.approx(df.minimal_ratio.median())


def test_error_surface_centre_and_range(tables):
    s = summary(tables, "error_surface")
    got = s.numbers.set_index(["surface", "where"])["value"]
    assert got[("random directions", "the trained model (centre)")] == 0.5
    assert got[("random directions", "grid maximum")] == 2.5
    traj = tables["error_surface"].query("kind == 'trajectory'").sort_values(["run", "epoch"])
    ends = traj.groupby("run")["loss"]
    own = "own trajectory planes"
    assert got[(own, "trajectory end (median over runs)")] == ends.last().median() == 1.1
    assert got[(own, "grid point nearest the end (median over runs)")] == 1.1
    assert got[(own, "variance explained by the plane (median)")] == pytest.approx(0.85)
    assert "the trained model's loss, 0.5, is the lowest point of the grid" in s.observation
    assert "rises to 2.5 (×5)" in s.observation
    assert "explains a median 85% of its path's variance" in s.observation


def test_random_labels_epoch_reaching_target(tables):
    df = tables["random_labels"]
    s = summary(tables, "random_labels")
    ep = {}
    for kind, g in df[df.split == "train"].groupby("labels"):
        ep[kind] = int(g.loc[g.accuracy >= 0.99, "epoch"].min())
    assert ep == {"random": 5, "true": 2}
    assert s.observation.startswith(
        "With random labels the training accuracy first reached 99% at epoch 5 of 6"
    )
    assert "with true labels it reached 99% at epoch 2" in s.observation
    test_final = df[(df.labels == "random") & (df.split == "test") & (df.epoch == 6)]
    assert f"test accuracy ended at {fmt(test_final.accuracy.iloc[0])}" in s.observation


def test_random_labels_not_reached(tables):
    df = tables["random_labels"].copy()
    df.loc[(df.labels == "random") & (df.split == "train"), "accuracy"] = 0.5
    s = summarize("random_labels", df, figure_config(CONFIG, "random_labels"))
    assert "did not reach 99% in 6 epochs (final 0.5)" in s.observation
    assert "not reached" in s.numbers.iloc[0].tolist()


def test_params_vs_generalization(tables):
    df = tables["params_vs_generalization"]
    s = summary(tables, "params_vs_generalization")
    acc = df[df.split == "test"].groupby("params")["accuracy"].mean()
    got = s.numbers.set_index("params")
    np.testing.assert_allclose(got["final test accuracy"], acc.loc[got.index], rtol=1e-12)
    w = df.pivot_table(index=["params", "seed"], columns="split", values="loss")
    gap = (w["test"] - w["train"]).groupby("params").mean()
    np.testing.assert_allclose(got["test − train loss"], gap.loc[got.index], rtol=1e-12)
    assert f"The highest final test accuracy, {fmt(acc.max())}, belongs to" in s.observation
    assert f"({fmt(int(acc.idxmax()))} parameters)" in s.observation


def test_interpolation_highest_barrier(tables):
    s = summary(tables, "interpolation")
    got = s.numbers.set_index(["pair", "split"])
    for key, (l0, l1, h) in BARRIERS.items():
        assert got.loc[key, "loss at α = 0"] == pytest.approx(l0)
        assert got.loc[key, "loss at α = 1"] == pytest.approx(l1)
        assert got.loc[key, "barrier α"] == pytest.approx(0.5)
        assert got.loc[key, "barrier height"] == pytest.approx(h)
    # the highest barrier of the training loss (the test split's is higher but not asked)
    assert s.observation == (
        "The highest training-loss barrier between α = 0 and 1 is in pair batch_size at "
        "α = 0.5: loss 2.125, 2 above the straight line between its ends (0.1 at α = 0, "
        "0.15 at α = 1)."
    )


def test_sensitivity_correlation(tables):
    df = tables["sensitivity"]
    s = summary(tables, "sensitivity")
    te = df[df.split == "test"].groupby("batch_size")[["sensitivity", "accuracy"]].mean()
    r = np.corrcoef(te["sensitivity"], te["accuracy"])[0, 1]
    assert f"is r = {fmt(r)};" in s.observation
    assert f"lowest at batch size {fmt(int(te.sensitivity.idxmin()))}" in s.observation
    np.testing.assert_allclose(s.numbers["sensitivity"], te["sensitivity"], rtol=1e-12)


def test_sharpness_correlation(tables):
    df = tables["sharpness"]
    s = summary(tables, "sharpness")
    w = df.pivot_table(index=["batch_size", "seed"], columns="split", values="loss")
    gap = (w["test"] - w["train"]).groupby("batch_size").mean()
    sharp = df[df.split == "train"].groupby("batch_size")["sharpness"].mean()
    r = np.corrcoef(sharp, gap.loc[sharp.index])[0, 1]
    assert f"is r = {fmt(r)}," in s.observation
    np.testing.assert_allclose(s.numbers["test − train loss"], gap, rtol=1e-12)
    eig = df[df.split == "train"].groupby("batch_size")["top_eigenvalue"].mean()
    assert f"goes from {fmt(eig.iloc[0])} at batch size 16 to {fmt(eig.iloc[-1])}" in s.observation


PLACEHOLDER = re.compile(r"\{|\}\}|\bNone\b|\bnan\b|\bNaN\b|<NA>|\bTrue\b|\bFalse\b")


def test_report_markdown_complete(tables, report):
    _, md, _ = report
    assert not PLACEHOLDER.search(md), PLACEHOLDER.search(md)
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads == [
        "## Findings",
        "## 1-1 Deep vs shallow",
        "## 1-2 Optimization",
        "## 1-3 Generalization",
    ]
    pos = [md.index(f"![{f}](figures/{f}.png)") for f in FIGURE_ORDER]
    assert pos == sorted(pos)  # every figure, in the homework's order
    for f in FIGURE_ORDER:
        s = summary(tables, f)
        assert f"**Observation.** {s.observation}" in md
        for line in s.settings:
            assert f"- {line}\n" in md
        header, rows = display_table(s.numbers)
        assert "| " + " | ".join(header) + " |" in md
        for row in rows:
            assert "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" in md, (f, row)


def test_report_html_has_every_figure_and_the_same_numbers(tables, report):
    _, md, page = report
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"\bNone\b|\bnan\b", page)
    for f in FIGURE_ORDER:
        assert f'<img src="figures/{f}.png"' in page
        s = summary(tables, f)
        assert html.escape(s.observation) in page
        _, rows = display_table(s.numbers)
        for row in rows:
            assert "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" in page
    # one numbers table per figure, and the Findings table
    assert page.count("<table>") == len(FIGURE_ORDER)
    assert page.count('<table class="findings">') == 1
    assert md.count("\n|---") == len(FIGURE_ORDER) + 1


def test_report_skips_figures_not_configured(tables, tmp_path):
    paths = {}
    for f in ("random_labels", "cnn_depth"):
        paths[f] = tmp_path / f"{f}.parquet"
        write_parquet(tables[f], paths[f])
    build_report(paths, paths, CONFIG, tmp_path / "r.md", tmp_path / "r.html")
    md = (tmp_path / "r.md").read_text()
    assert "## 1-2" not in md
    body = md[md.index("## 1-1") :]
    assert body.index("cnn_depth") < body.index("random_labels")
    # the Findings still list every claim; those whose figure is missing are not run
    rows = [ln for ln in md[: md.index("## 1-1")].splitlines() if ln.startswith("| ")][1:]
    assert sum("**not run**" in r for r in rows) == len(rows) - 4  # cnn_depth 1, random_labels 3
    assert sum("[cnn_depth](" in r for r in rows) == 1
    assert sum("[random_labels](" in r for r in rows) == 3


def test_findings_section_before_part_1_1(report, finding_rows):
    """Every finding a row of the Findings table, in order, right after the introduction,
    with its verdict and a link: to the figure's image (Markdown) or its section (HTML)."""
    from hw1.report import FINDINGS_HEADER, verdict_text
    from hw1.summaries.findings import NOT_RUN, VERDICTS

    root, md, page = report
    section = md[md.index("## Findings") : md.index("## 1-1")]
    assert md.index("## Findings") > md.index(REPORT_INTRO)
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    assert lines[0] == "| " + " | ".join(FINDINGS_HEADER) + " |"
    assert len(lines) == len(finding_rows) + 2
    # with every figure configured, every claim is tested (none "not run")
    assert all(f.verdict in VERDICTS and f.verdict != NOT_RUN for f in finding_rows)
    for f, line in zip(finding_rows, lines[2:], strict=True):
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        want = [f.claim, f.source, f.paper, f.ours]
        assert cells[:4] == [c.replace("|", "\\|") for c in want], f.topic
        assert cells[4].startswith(f"**{f.verdict}**")
        assert verdict_text(f).replace("|", "\\|")[len(f.verdict) :] in cells[4]
        assert cells[5] == f"[{f.figure}](figures/{f.figure}.png)"
        assert f'<a href="#{f.figure}">' in page and f'<section id="{f.figure}">' in page
        assert html.escape(f.ours) in page and html.escape(f.claim) in page
    html_rows = page[page.index('<table class="findings">') : page.index('<h2 id="part-1-1"')]
    assert html_rows.count("<tr>") == len(finding_rows) + 1
    # the end-of-run findings file: one line per figure, then one per finding
    lines = (root / "results/findings.txt").read_text().splitlines()
    assert len(lines) == len(FIGURE_ORDER) + len(finding_rows)
    for f, line in zip(finding_rows, lines[len(FIGURE_ORDER) :], strict=True):
        assert line.startswith(f"Finding, {f.topic}: {f.verdict}")


@pytest.mark.parametrize("figure", FIGURE_ORDER)
def test_caption_is_valid_rst(tables, figure, tmp_path):
    from docutils.core import publish_parts

    path = tmp_path / "t.parquet"
    write_parquet(tables[figure], path)
    out = tmp_path / "captions" / f"{figure}.rst"
    s = write_caption(figure, path, figure_config(CONFIG, figure), out)
    text = out.read_text()
    # what the figure shows (from the catalogue), its table, then the summary
    head = f"{rst_escape(catalogued(figure).about)}\n\nSettings and key numbers (computed from "
    assert text.startswith(head)
    assert text.endswith(f"``{path.as_posix()}``):\n\n" + caption_rst(s))
    assert "{{" not in text and "{%" not in text  # the Snakemake report runs Jinja on it
    parts = publish_parts(
        text, writer="html", settings_overrides={"halt_level": 2, "report_level": 1}
    )
    body = parts["html_body"]
    assert "system-message" not in body and "ERROR" not in body
    assert body.count("<tr>") == len(s.numbers) + 1
    # the observation reads the same in the rendered caption
    plain = re.sub(r"<[^>]+>", "", body)
    assert html.unescape(plain).count(s.observation) == 1


def test_attrs_survive_the_table_file(tables, tmp_path):
    p = tmp_path / "m.parquet"
    write_parquet(tables["minimal_ratio"], p)
    assert read_parquet(p).attrs["threshold"] == 0.02


def test_workflow_plans_captions_and_report(tmp_path, mnist_dir):
    """A dry run of the report target on the smoke config: one caption per figure and the
    report, after every table and figure."""
    from tests.workflow.wf import (
        expected_figures,
        job_counts,
        smoke_config,
        snakemake,
        write_config,
    )

    cfg = smoke_config(mnist_dir)
    write_config(tmp_path, cfg)
    res = snakemake(tmp_path, "-n", "results/report.md", "results/homework.html")
    counts = job_counts(res.stdout + res.stderr)
    assert counts["figure_caption"] == len(expected_figures(cfg))
    assert counts["homework_report"] == 1


def test_two_data_sets_say_what_holds_on_both_and_what_differs():
    """A figure on two data sets: the numbers per data set (recomputed here), and an
    observation that names each data set, what holds on both and what differs."""
    rng = np.random.default_rng(5)
    mnist = _random_labels(rng)
    fashion = _random_labels(rng).assign(dataset="fashion_mnist")
    # on Fashion-MNIST the random labels stop short of the target: 98% at the last epoch
    slow = (fashion["labels"] == "random") & (fashion["split"] == "train")
    fashion.loc[slow, "accuracy"] = np.minimum(fashion.loc[slow, "accuracy"], 0.98)
    table = pd.concat([mnist, fashion], ignore_index=True)
    s = summarize("random_labels", table, figure_config(CONFIG, "random_labels"))
    got = s.numbers.set_index(["data set", "labels"])
    assert list(got.index) == [
        ("MNIST", "random"),
        ("MNIST", "true"),
        ("Fashion-MNIST", "random"),
        ("Fashion-MNIST", "true"),
    ]
    for title, df in (("MNIST", mnist), ("Fashion-MNIST", fashion)):
        last = df[(df.epoch == df.epoch.max()) & (df.split == "test")]
        want = last.groupby("labels")["accuracy"].mean()
        np.testing.assert_allclose(
            got.loc[title, "final test accuracy"], want.loc[["random", "true"]], rtol=1e-12
        )
    assert got.loc[("MNIST", "random"), "first epoch train accuracy ≥ 99%"] == 5
    assert got.loc[("Fashion-MNIST", "random"), "first epoch train accuracy ≥ 99%"] == (
        "not reached"
    )
    obs = s.observation
    assert obs.startswith("MNIST: with random labels the training accuracy first reached 99%")
    assert "Fashion-MNIST: with random labels the training accuracy did not reach 99%" in obs
    assert "Differs: random labels were memorised (training accuracy ≥ 99%) holds on MNIST " in obs
    assert "but not on Fashion-MNIST" in obs
    # the synthetic test accuracies (5-15%) lie within 2 points of chance on neither, or both
    chance = [
        abs(df[(df.labels == "random") & (df.split == "test")].accuracy.iloc[-1] - 0.1) <= 0.02
        for df in (mnist, fashion)
    ]
    phrase = "test accuracy with random labels stayed within 2 points of chance (10%)"
    if all(chance):
        assert f"On both MNIST and Fashion-MNIST: {phrase}" in obs
    elif not any(chance):
        assert f"On neither: {phrase}" in obs
    else:
        assert f"{phrase} holds on" in obs


def test_keskar_summary_ratio_and_the_papers_rows(tables):
    """The LB/SB sharpness ratio (L-BFGS-B, full space, the largest ε) and the test-accuracy
    gap recomputed from the table; the paper's F1 rows are hw1.papers' numbers."""
    from hw1 import papers

    df = tables["keskar"]
    s = summary(tables, "keskar")
    one = df[(df.method == "L-BFGS-B") & (df.space == "full") & (df.eps == df.eps.max())]
    sharp = one.groupby("regime")["sharpness"].mean()
    acc = 100 * one.groupby("regime")["test_accuracy"].mean()
    assert f"{fmt(sharp['LB'] / sharp['SB'])}× as sharp" in s.observation
    assert f"{fmt(acc['SB'] - acc['LB'])} points" in s.observation
    paper = s.numbers[s.numbers["source"] == "Keskar et al. F1 (Tables 2-4)"]
    paper = paper.set_index("regime")
    full = papers.KESKAR_F1_SHARPNESS["full"][1e-3]
    assert paper.loc["LB", "full ε=0.001 L-BFGS-B"] == full["LB"].mean == 205.14
    assert paper.loc["LB", "full ε=0.001 L-BFGS-B sd"] == full["LB"].sd == 69.52
    assert paper.loc["LB", "subspace ε=0.001 L-BFGS-B"] == 9.22  # Table 4
    assert paper.loc["SB", "test acc (%)"] == papers.KESKAR_F1_ACCURACY["test"]["SB"].mean
    assert paper.loc["SB", "test acc (%) sd"] == papers.KESKAR_F1_ACCURACY["test"]["SB"].sd
    # ours: mean and sd over seeds of the same cells
    mine = s.numbers[s.numbers["source"] == "ours"]
    if "data set" in mine:
        mine = mine[mine["data set"] == mine["data set"].iloc[0]]
        df = df[df.dataset == df.dataset.iloc[0]]
        one = df[(df.method == "L-BFGS-B") & (df.space == "full") & (df.eps == df.eps.max())]
    mine = mine.set_index("regime")
    for regime in ("SB", "LB"):
        seeds = one[one.regime == regime]
        col = f"full ε={df.eps.max():g} L-BFGS-B"
        assert mine.loc[regime, col] == pytest.approx(seeds["sharpness"].mean(), rel=1e-12)
        assert mine.loc[regime, f"{col} sd"] == pytest.approx(
            seeds["sharpness"].std(ddof=1), rel=1e-12
        )
        assert mine.loc[regime, "test acc (%) sd"] == pytest.approx(
            100 * seeds["test_accuracy"].std(ddof=1), rel=1e-12
        )
