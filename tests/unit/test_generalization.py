"""Part 1-3 (generalization): tables from real (tiny) training runs, random labels, figures.

Runs are trained with the real engine on a fake MNIST cache (random images and labels of the
official shapes), so every table is checked against what training itself recorded.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from hw1.analysis.sensitivity import mean_sensitivity
from hw1.catalogue import figure
from hw1.config import validate
from hw1.config.generalization import check_generalization as check_config
from hw1.data import image_tensors, load_random_labels, make_random_labels
from hw1.engine import model_spec, train
from hw1.figures import render
from hw1.io import read_metadata, read_parquet, write_parquet
from hw1.jobs.analysis import analysis_job
from hw1.jobs.generalization import interpolation_job
from hw1.jobs.train import load_data, write_run
from hw1.models import ParamLayout, build_model, unflatten
from hw1.runs import first_epoch_reaching, run_meta, schedule_text
from hw1.tables import build_table
from hw1.trainspec import TrainSpec
from tests.builders import schema_defaults, train_spec

ROOT = Path(__file__).resolve().parents[2]


def table_fn(name: str):
    """The catalogued table builder of figure ``name``."""
    return figure(name).table_fn()


SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
DATA_CFG = {"train_size": 240, "test_size": 120}


@pytest.fixture(scope="module")
def fake_mnist(tmp_path_factory) -> dict[str, Path]:
    """A cache with the official keys and shapes (random pixels and labels) and its random
    training labels."""
    d = tmp_path_factory.mktemp("mnist")
    g = torch.Generator().manual_seed(0)
    cache = {
        "name": "mnist",
        "train_images": torch.randint(0, 256, (60000, 1, 28, 28), dtype=torch.uint8, generator=g),
        "train_labels": torch.randint(0, 10, (60000,), dtype=torch.uint8, generator=g),
        "test_images": torch.randint(0, 256, (10000, 1, 28, 28), dtype=torch.uint8, generator=g),
        "test_labels": torch.randint(0, 10, (10000,), dtype=torch.uint8, generator=g),
    }
    torch.save(cache, d / "mnist.pt")
    make_random_labels(60000, 11, d / "mnist_random_labels.parquet")
    return {"data": d / "mnist.pt", "random_labels": d / "mnist_random_labels.parquet"}


def _spec(experiment: str, variant: str, **kw) -> TrainSpec:
    base = {"dataset": "mnist", "model": {"type": "mlp", "hidden": [8]}, "batch_size": 40}
    base |= {"epochs": 2, "seeds": (0, 1), "eval_batch_size": 50}  # several chunks per split
    return train_spec(**{"experiment": experiment, "variant": variant, **base, **kw})


def _run(spec: TrainSpec, fake: dict[str, Path], out: Path) -> dict[str, str]:
    inputs = {k: str(v) for k, v in fake.items()}
    data = load_data(spec, inputs, DATA_CFG, torch.device("cpu"))
    res = train(spec, data)
    paths = {
        k: str(out / spec.experiment / spec.variant / f"{k}.parquet")
        for k in ("metrics", "steps", "weights")
    }
    write_run(res, paths["metrics"], paths["steps"], paths["weights"])
    return paths


@pytest.fixture(scope="module")
def runs(fake_mnist, tmp_path_factory) -> dict[str, dict[str, dict[str, str]]]:
    out = tmp_path_factory.mktemp("runs")
    specs = {
        "interpolation": [
            _spec("interpolation", "small_batch", batch_size=20),
            _spec("interpolation", "large_batch", batch_size=120),
            _spec("interpolation", "large_lr", batch_size=20, lr=5e-2),
        ],
        "batch_size": [
            _spec("batch_size", f"bs{b}", batch_size=b, seeds=(0, 1, 2)) for b in (20, 60, 240)
        ],
        "random_labels": [
            _spec(
                "random_labels",
                f"{kind}_labels" if kind == "true" else kind,
                labels=kind,
                epochs=3,
                seeds=(0,),
                lr_schedule={"type": "cosine", "min_lr": 0.0},
            )
            for kind in ("random", "true")
        ],
        "params_vs_generalization": [
            _spec("params_vs_generalization", f"h{h}", model={"type": "mlp", "hidden": [h]})
            for h in (2, 16, 64)
        ],
    }
    return {exp: {s.variant: _run(s, fake_mnist, out) for s in ss} for exp, ss in specs.items()}


def _final(metrics_path: str, seed: int) -> pd.DataFrame:
    m = read_parquet(metrics_path)
    spec = read_metadata(metrics_path)["spec"]
    return m[(m["epoch"] == spec["epochs"]) & (m["seed"] == seed)].set_index("split")


# ---------------------------------------------------------------- random labels


def test_random_labels_replace_training_labels_only(fake_mnist) -> None:
    cache = torch.load(fake_mnist["data"], weights_only=True)
    _, y_tr, _, y_te = image_tensors(fake_mnist["data"], random_labels=fake_mnist["random_labels"])
    assert torch.equal(y_te, cache["test_labels"].long())  # test labels untouched
    assert torch.equal(y_tr, load_random_labels(fake_mnist["random_labels"], 60000))
    differ = (y_tr != cache["train_labels"].long()).double().mean().item()
    assert 0.88 < differ < 0.92  # uniform labels agree with the true ones 1 time in 10
    # the same through the job-level loader, and with a subset of the training set
    spec = _spec("random_labels", "random", labels="random")
    data = load_data(spec, {k: str(v) for k, v in fake_mnist.items()}, DATA_CFG, "cpu")
    assert torch.equal(data.y_test, cache["test_labels"][:120].long())
    assert torch.equal(data.y_train, y_tr[:240])
    counts = torch.bincount(y_tr, minlength=10).double() / 60000
    assert counts.min() > 0.09 and counts.max() < 0.11


def test_random_labels_table(runs) -> None:
    paths = [r["metrics"] for r in runs["random_labels"].values()]
    df = table_fn("random_labels")({"metrics": paths}, {"target_accuracy": 0.99})
    assert set(df["labels"]) == {"random", "true"}
    assert set(df["split"]) == {"train", "test"}
    assert df["epoch"].max() == 3
    assert df["schedule"].iloc[0] == "Adam lr 0.01, cosine to 0 over 3 epochs"
    for path in paths:
        m = read_parquet(path)
        kind = read_metadata(path)["spec"]["labels"]
        sub = df[df["labels"] == kind].sort_values(["epoch", "split"])
        ref = m.sort_values(["epoch", "split"])
        np.testing.assert_array_equal(sub["loss"].to_numpy(), ref["loss"].to_numpy())


def test_first_epoch_reaching() -> None:
    df = pd.DataFrame(
        {
            "epoch": [0, 1, 2, 0, 1, 2, 2],
            "seed": [0, 0, 0, 1, 1, 1, 1],
            "split": ["train"] * 6 + ["test"],
            "accuracy": [0.1, 0.99, 1.0, 0.1, 0.97, 0.995, 0.2],
        }
    )
    assert first_epoch_reaching(df, 0.99) == 2  # mean over seeds at epoch 1 is 0.98
    assert first_epoch_reaching(df, 0.999) is None


# ---------------------------------------------------------------- params vs generalization


def test_params_table_holds_final_metrics(runs) -> None:
    paths = [r["metrics"] for r in runs["params_vs_generalization"].values()]
    df = table_fn("params_vs_generalization")({"metrics": paths}, {})
    assert list(df["params"].unique()) == sorted(df["params"].unique())
    assert len(df) == 3 * 2 * 2  # models x seeds x splits
    for model, path in zip(("h2", "h16", "h64"), paths, strict=True):
        for seed in (0, 1):
            fin = _final(path, seed)
            sub = df[(df["model"] == model) & (df["seed"] == seed)].set_index("split")
            for split in ("train", "test"):
                assert sub.loc[split, "loss"] == fin.loc[split, "loss"]
                assert sub.loc[split, "accuracy"] == fin.loc[split, "accuracy"]
    assert df[df["model"] == "h2"]["params"].iloc[0] == 784 * 2 + 2 + 2 * 10 + 10


# ---------------------------------------------------------------- interpolation


def test_interpolation_endpoints_reproduce_final_metrics(runs, fake_mnist) -> None:
    r = runs["interpolation"]
    params = {
        "pairs": {"batch": ["small_batch", "large_batch"], "lr": ["small_batch", "large_lr"]},
        "alpha": {"start": -1.0, "stop": 2.0, "steps": 61},
        "seed": 1,
        "alpha_batch": 7,
        "data_cfg": DATA_CFG,
        "device": "cpu",
    }
    inputs = {"weights": [v["weights"] for v in r.values()], "data": [str(fake_mnist["data"])]}
    df = interpolation_job(inputs, params)
    assert {"pair", "alpha", "split", "loss", "accuracy"} <= set(df.columns)
    for pair, (v1, v2) in params["pairs"].items():
        sub = df[df["pair"] == pair]
        alphas = sorted(sub["alpha"].unique())
        assert len(alphas) == 61 and alphas[0] == -1.0 and alphas[-1] == 2.0
        assert 0.0 in alphas and 1.0 in alphas
        for alpha, variant in ((0.0, v1), (1.0, v2)):
            fin = _final(r[variant]["metrics"], seed=1)
            at = sub[sub["alpha"] == alpha].set_index("split")
            for split in ("train", "test"):
                np.testing.assert_allclose(at.loc[split, "loss"], fin.loc[split, "loss"], rtol=1e-6)
                assert at.loc[split, "accuracy"] == fin.loc[split, "accuracy"]
        # away from the endpoints the path leaves both models (a barrier or a drop somewhere)
        far = sub[(sub["alpha"] == 2.0) & (sub["split"] == "train")]["loss"].iloc[0]
        assert np.isfinite(far)


def test_interpolation_rejects_other_seed(runs, fake_mnist) -> None:
    r = runs["interpolation"]
    with pytest.raises(KeyError, match="no seed 5"):
        interpolation_job(
            {"weights": [v["weights"] for v in r.values()], "data": [str(fake_mnist["data"])]},
            {
                "pairs": {"b": ["small_batch", "large_batch"]},
                "alpha": {"start": -1.0, "stop": 2.0, "steps": 61},
                "seed": 5,
                "alpha_batch": 8,
                "data_cfg": DATA_CFG,
                "device": "cpu",
            },
        )


# ---------------------------------------------------------------- sensitivity / sharpness


FLAT_PARAMS = {
    "sensitivity": {"test_examples": 60, "chunk": 25},
    "sharpness": {
        "train_examples": 80,
        "eps": 1e-3,
        "steps": 3,
        "step_lr": 0.1,
        "hessian_iters": 5,
        "hessian_tol": 1e-4,
        "seed": 0,
    },
    "data_cfg": DATA_CFG,
    "device": "cpu",
}


@pytest.fixture(scope="module")
def flatness(runs, fake_mnist, tmp_path_factory) -> tuple[pd.DataFrame, list[str]]:
    out = tmp_path_factory.mktemp("flat")
    r = runs["batch_size"]
    inputs = {
        "metrics": [v["metrics"] for v in r.values()],
        "weights": [v["weights"] for v in r.values()],
        "data": str(fake_mnist["data"]),
    }
    analysis = str(out / "flatness.parquet")
    df = analysis_job(
        "flatness",
        {k: [v] if isinstance(v, str) else v for k, v in inputs.items()},
        analysis,
        FLAT_PARAMS,
        1,
    )
    # the two figure tables: the analysis as written, through the catalogued builders
    outs = [str(out / "sensitivity.parquet"), str(out / "sharpness.parquet")]
    for name, path in zip(("sensitivity", "sharpness"), outs, strict=True):
        margin = schema_defaults("batch_size", "undertrained_margin")
        build_table(name, {"analysis": [analysis]}, path, {"undertrained_margin": margin})
    return df, outs


def test_sensitivity_equals_direct_mean_sensitivity(flatness, runs, fake_mnist) -> None:
    df, outs = flatness
    table = read_parquet(outs[0])
    pd.testing.assert_frame_equal(read_parquet(outs[1]), table)
    added = ["undertrained", "undertrained_margin"]
    pd.testing.assert_frame_equal(table.drop(columns=added), df)
    # undertrained: mean final training accuracy more than the margin below the best's
    margin = schema_defaults("batch_size", "undertrained_margin")
    acc = {b: g["accuracy"].mean() for b, g in df[df["split"] == "train"].groupby("batch_size")}
    for b, g in table.groupby("batch_size"):
        assert set(g["undertrained"]) == {acc[b] < max(acc.values()) - margin}, b
    assert sorted(df["batch_size"].unique()) == [20, 60, 240]
    assert len(df) == 3 * 3 * 2
    x_test = image_tensors(fake_mnist["data"], test_size=60)[2]
    for variant, paths in runs["batch_size"].items():
        w = read_parquet(paths["weights"])
        meta = read_metadata(paths["weights"])
        spec = TrainSpec.from_dict(meta["spec"])
        layout = ParamLayout.from_json(meta["layout"])
        for seed in (0, 1, 2):
            row = w[(w["seed"] == seed) & (w["epoch"] == spec.epochs)].iloc[0]
            net = build_model(model_spec(spec, (1, 28, 28)))
            theta = torch.tensor(np.asarray(row["weights"], dtype=np.float32))
            net.load_state_dict(unflatten(theta, layout))
            direct = mean_sensitivity(net.eval(), x_test, chunk=60)
            got = df[(df["variant"] == variant) & (df["seed"] == seed)]
            assert len(got) == 2  # one row per split, the same value on both
            np.testing.assert_allclose(got["sensitivity"].to_numpy(), direct, rtol=1e-5)
            fin = _final(paths["metrics"], seed)
            for split in ("train", "test"):
                g = got[got["split"] == split].iloc[0]
                assert g["loss"] == fin.loc[split, "loss"]
                assert g["accuracy"] == fin.loc[split, "accuracy"]
    assert (df["sharpness"] >= 0).all() and np.isfinite(df["top_eigenvalue"]).all()
    assert (df["sensitivity_examples"] == 60).all() and (df["sharpness_examples"] == 80).all()


def test_sharpness_and_top_eigenvalue_are_of_the_training_loss(flatness, runs, fake_mnist) -> None:
    """ε-sharpness and the top Hessian eigenvalue are those of the TRAINING loss over the
    first train_examples training images, recomputed here independently; the same measures on
    the test images differ, so a job that used the wrong split would fail this test."""
    from hw1.analysis.sharpness import eps_sharpness, top_hessian_eigenvalue
    from hw1.models import flat_loss_fn

    df, _ = flatness
    sh = FLAT_PARAMS["sharpness"]
    x_tr, y_tr, x_te, y_te = image_tensors(fake_mnist["data"], train_size=80, test_size=80)
    variant, paths = next(iter(runs["batch_size"].items()))
    meta = read_metadata(paths["weights"])
    spec = TrainSpec.from_dict(meta["spec"])
    layout = ParamLayout.from_json(meta["layout"])
    w = read_parquet(paths["weights"])
    row = w[(w["seed"] == 1) & (w["epoch"] == spec.epochs)].iloc[0]
    theta = torch.tensor(np.asarray(row["weights"], dtype=np.float32))
    net = build_model(model_spec(spec, (1, 28, 28)))
    net.load_state_dict(unflatten(theta, layout))
    f = flat_loss_fn(net.eval())

    def measures(x, y):
        sharp = eps_sharpness(
            lambda t: f(t, x, y),
            theta,
            sh["eps"],
            steps=sh["steps"],
            lr=sh["step_lr"],
            init="random",
            generator=torch.Generator().manual_seed(sh["seed"]),
        )
        top = top_hessian_eigenvalue(
            lambda t: f(t, x, y),
            theta,
            iters=sh["hessian_iters"],
            tol=sh["hessian_tol"],
            generator=torch.Generator().manual_seed(sh["seed"] + 1),
        )
        return sharp, top

    got = df[(df["variant"] == variant) & (df["seed"] == 1)].iloc[0]
    train_sharp, train_top = measures(x_tr, y_tr)
    assert got["sharpness"] == pytest.approx(train_sharp, rel=1e-6)
    assert got["top_eigenvalue"] == pytest.approx(train_top, rel=1e-6)
    test_sharp, test_top = measures(x_te, y_te)
    assert abs(test_top - train_top) > 1e-3 * abs(train_top)
    assert test_sharp != pytest.approx(train_sharp, rel=1e-6)


# ---------------------------------------------------------------- figures and config


def test_figures_render_from_tables(runs, fake_mnist, flatness, tmp_path) -> None:
    tables = {
        "random_labels": table_fn("random_labels")(
            {"metrics": [r["metrics"] for r in runs["random_labels"].values()]},
            {"target_accuracy": 0.5},
        ),
        "params_vs_generalization": table_fn("params_vs_generalization")(
            {"metrics": [r["metrics"] for r in runs["params_vs_generalization"].values()]}, {}
        ),
        "interpolation": interpolation_job(
            {
                "weights": [r["weights"] for r in runs["interpolation"].values()],
                "data": [str(fake_mnist["data"])],
            },
            {
                "pairs": {
                    "batch": ["small_batch", "large_batch"],
                    "lr": ["small_batch", "large_lr"],
                },
                "alpha": {"start": -1.0, "stop": 2.0, "steps": 7},
                "seed": 0,
                "alpha_batch": 8,
                "data_cfg": DATA_CFG,
                "device": "cpu",
            },
        ),
        "sensitivity": read_parquet(flatness[1][0]),
        "sharpness": read_parquet(flatness[1][1]),
    }
    for name, df in tables.items():
        write_parquet(df, tmp_path / f"{name}.parquet")
        render(
            name,
            tmp_path / f"{name}.parquet",
            tmp_path / f"{name}.png",
            tmp_path / f"{name}.pdf",
            {"width": 8, "height": 3, "dpi": 50},
        )
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
        assert (tmp_path / f"{name}.pdf").stat().st_size > 1000


def _smoke_config() -> dict:
    with open(ROOT / "tests" / "config" / "smoke.yaml") as f:
        return yaml.safe_load(f)


def test_smoke_config_is_valid_and_checked() -> None:
    cfg = validate(_smoke_config(), SCHEMA)
    assert check_config(cfg) == []
    bad = copy.deepcopy(cfg)
    bad["experiments"]["interpolation"]["pairs"]["x"] = ["small_batch", "nope"]
    bad["experiments"]["interpolation"]["seed"] = 9
    bad["experiments"]["interpolation"]["alpha"] = {"start": -1.0, "stop": 2.0, "steps": 60}
    bad["experiments"]["random_labels"]["variants"]["random"]["labels"] = "true"
    errs = "\n".join(check_config(bad))
    assert "unknown variant(s) ['nope']" in errs
    assert "9 is not a seed" in errs
    assert "alpha = 0 and 1" in errs
    assert "exactly one variant with labels: random" in errs


def test_schedule_text() -> None:
    spec = {"optimizer": "adam", "lr": 1e-4, "epochs": 9, "lr_schedule": {"type": "constant"}}
    assert schedule_text(spec) == "Adam lr 0.0001, constant"
    spec["lr_schedule"] = {"type": "step", "step_size": 3, "gamma": 0.5}
    assert schedule_text(spec) == "Adam lr 0.0001, x0.5 every 3 epochs"


def test_flatness_table_marks_batch_sizes_below_the_best_training_accuracy(tmp_path) -> None:
    """Mean final training accuracies 0.99, 0.985 and 0.97 (and a second data set where all
    reach 1.0) with the margin 0.005: only the 0.97 batch size is undertrained (0.985 is
    exactly the margin below, not more); test rows do not count."""
    rows = []
    accs = {"mnist": {16: 0.99, 64: 0.985, 1024: 0.97}, "fashion_mnist": {16: 1.0, 1024: 1.0}}
    for ds, per in accs.items():
        for b, acc in per.items():
            for seed, d in ((0, -0.001), (1, 0.001)):
                rows.append(
                    {
                        "dataset": ds,
                        "batch_size": b,
                        "seed": seed,
                        "split": "train",
                        "accuracy": acc + d,
                    }
                )
                rows.append(
                    {"dataset": ds, "batch_size": b, "seed": seed, "split": "test", "accuracy": 0.5}
                )
    path = tmp_path / "flatness.parquet"
    write_parquet(pd.DataFrame(rows), path)
    table = figure("sensitivity").table_fn()(
        {"analysis": [str(path)]}, {"undertrained_margin": 0.005}
    )
    marked = set(map(tuple, table.loc[table["undertrained"], ["dataset", "batch_size"]].values))
    assert marked == {("mnist", 1024)}
    assert (table["undertrained_margin"] == 0.005).all() and len(table) == len(rows)


def test_sharpness_figure_draws_the_gap_in_accuracy_and_shades_undertrained(flatness) -> None:
    """Panel 4 is train − test accuracy (mean over seeds per batch size); a batch size the
    table marks undertrained is shaded in every panel, one shared legend entry."""
    from hw1.figures.generalization import fig_sharpness

    table = read_parquet(flatness[1][1])
    table["undertrained"] = table["batch_size"] == table["batch_size"].max()
    style = {"width": 12, "height": 3, "dpi": 50, "font_size": 8, "palette": "tab10"}
    axes = fig_sharpness(table, style).axes
    assert len(axes) == 4
    wide = table.pivot_table(index=["batch_size", "seed"], columns="split", values="accuracy")
    want = (wide["train"] - wide["test"]).groupby("batch_size").mean()
    np.testing.assert_allclose(axes[3].lines[0].get_ydata(), want.to_numpy())
    for ax in axes:
        assert len(ax.patches) == 1  # the shaded undertrained batch size
    assert any("undertrained" in t.get_text() for t in axes[3].get_legend().get_texts())


def test_keskar_job_measures_every_final_minimum(runs, fake_mnist, tmp_path) -> None:
    """One row per model x ε x (L-BFGS-B full, L-BFGS-B subspace, projected ascent full),
    carrying that model's final metrics from its metrics file; every sharpness >= 0 and the
    value at a model equals keskar_sharpness recomputed with the job's generator draws."""
    from hw1.analysis.sharpness import keskar_sharpness
    from hw1.jobs.generalization import keskar_job

    r = {k: runs["batch_size"][k] for k in ("bs20", "bs240")}
    inputs = {
        "metrics": [v["metrics"] for v in r.values()],
        "weights": [v["weights"] for v in r.values()],
        "data": [str(fake_mnist["data"])],
    }
    sharp = {"eps": [1e-3, 5e-4], "subspace": 4, "iterations": 3, "train_examples": 80}
    sharp |= {"ascent_steps": 3, "ascent_lr": 0.1, "seed": 2}
    df = keskar_job(inputs, {"sharpness": sharp, "data_cfg": DATA_CFG, "device": "cpu"})
    assert len(df) == 2 * 3 * 2 * 3  # variants x seeds x eps x (method, space)
    assert (df["sharpness"] >= 0).all()
    for variant, paths in r.items():
        fin = _final(paths["metrics"], seed=1)
        row = df[(df.variant == variant) & (df.seed == 1)].iloc[0]
        assert row["train_accuracy"] == fin.loc["train", "accuracy"]
        assert row["test_loss"] == fin.loc["test", "loss"]
    # the first model's first value, recomputed: the job's generator, first draw
    spec = TrainSpec.from_dict(run_meta(r["bs20"]["weights"])["spec"])
    w = read_parquet(r["bs20"]["weights"])
    theta = torch.from_numpy(
        np.array(w[(w.epoch == spec.epochs) & (w.seed == 0)]["weights"].iloc[0], dtype=np.float32)
    )
    data = image_tensors(fake_mnist["data"], **DATA_CFG)
    net = build_model(model_spec(spec, (1, 28, 28)))
    net.load_state_dict({k: v.clone() for k, v in unflatten(theta, ParamLayout.of(net)).items()})
    from hw1.models import flat_loss_fn

    f = flat_loss_fn(net.eval())
    x, y = data[0][:80], data[1][:80]
    gen = torch.Generator().manual_seed(2)
    want = keskar_sharpness(lambda t: f(t, x, y), theta, 1e-3, iterations=3, generator=gen)
    got = df[(df.variant == "bs20") & (df.seed == 0) & (df.eps == 1e-3) & (df.space == "full")
             & (df.method == "L-BFGS-B")]["sharpness"].iloc[0]  # fmt: skip
    assert got == pytest.approx(want, rel=1e-6)
    # the subspace value: the same generator's next draws, a random n x 4 A
    want_sub = keskar_sharpness(
        lambda t: f(t, x, y), theta, 1e-3, subspace=4, iterations=3, generator=gen
    )
    got_sub = df[(df.variant == "bs20") & (df.seed == 0) & (df.eps == 1e-3)
                 & (df.space == "subspace")]["sharpness"].iloc[0]  # fmt: skip
    assert got_sub == pytest.approx(want_sub, rel=1e-6)


# ---------------------------------------------------------------- measures across the study

MEASURE_SETTINGS = {
    "sensitivity": {"test_examples": 60, "chunk": 25},
    "sharpness": {"train_examples": 80, "eps": 1e-3, "steps": 3, "step_lr": 0.1,
                  "hessian_iters": 5, "hessian_tol": 1e-3, "seed": 4},
}  # fmt: skip


def _stored_theta(weights: str, seed: int) -> tuple[TrainSpec, torch.Tensor]:
    spec = TrainSpec.from_dict(run_meta(weights)["spec"])
    w = read_parquet(weights)
    row = w[(w.epoch == spec.epochs) & (w.seed == seed)]["weights"].iloc[0]
    return spec, torch.from_numpy(np.array(row, dtype=np.float32))


def test_measures_job_measures_every_classifier_on_its_own_labels(runs, fake_mnist) -> None:
    """One row per model of every experiment; gaps from the metrics files; the parameter
    norm from the stored weights; sensitivity and ε-sharpness of the random-label model
    recomputed from its weights on the random labels it was trained on (the true labels
    give another value)."""
    from hw1.analysis.sharpness import eps_sharpness
    from hw1.jobs.generalization import measures_job
    from hw1.models import flat_loss_fn

    exps = ("batch_size", "random_labels", "params_vs_generalization")
    paths = [p for e in exps for p in runs[e].values()]
    inputs = {
        "metrics": [p["metrics"] for p in paths],
        "weights": [p["weights"] for p in paths],
        "data": [str(fake_mnist["data"])],
        "random_labels": [str(fake_mnist["random_labels"])],
    }
    df = measures_job(inputs, {**MEASURE_SETTINGS, "data_cfg": DATA_CFG, "device": "cpu"})
    assert len(df) == 3 * 3 + 2 * 1 + 3 * 2
    # every measure the table ranks is a column of the job's file
    from hw1.analysis.columns import MEASURES

    assert set(MEASURES) <= set(df.columns)
    for p in paths:
        meta = run_meta(p["metrics"])["spec"]
        for seed in meta["seeds"]:
            fin = _final(p["metrics"], seed)
            row = df[(df.experiment == meta["experiment"]) & (df.variant == meta["variant"])
                     & (df.seed == seed)].iloc[0]  # fmt: skip
            assert row["loss_gap"] == pytest.approx(
                fin.loc["test", "loss"] - fin.loc["train", "loss"]
            )
            assert row["accuracy_gap"] == pytest.approx(
                fin.loc["train", "accuracy"] - fin.loc["test", "accuracy"]
            )
            _, theta = _stored_theta(p["weights"], seed)
            assert row["param_norm"] == pytest.approx(np.linalg.norm(theta.double().numpy()))
            assert row["params"] == theta.numel()
    # the random-label model, recomputed on its own training labels
    spec, theta = _stored_theta(runs["random_labels"]["random"]["weights"], 0)
    x_tr, _, x_te, _ = image_tensors(fake_mnist["data"], **DATA_CFG)
    y_rand = load_random_labels(fake_mnist["random_labels"], 60000)[: DATA_CFG["train_size"]]
    net = build_model(model_spec(spec, (1, 28, 28)))
    net.load_state_dict({k: v.clone() for k, v in unflatten(theta, ParamLayout.of(net)).items()})
    net.eval()
    row = df[df.variant == "random"].iloc[0]
    assert row["labels"] == "random"
    assert row["sensitivity"] == pytest.approx(mean_sensitivity(net, x_te[:60], chunk=25), rel=1e-6)
    f = flat_loss_fn(net)
    x, y = x_tr[:80], y_rand[:80]
    want = eps_sharpness(lambda t: f(t, x, y), theta, 1e-3, steps=3, lr=0.1, init="random",
                         generator=torch.Generator().manual_seed(4))  # fmt: skip
    assert row["sharpness"] == pytest.approx(want, rel=1e-6)
    y_true = image_tensors(fake_mnist["data"], **DATA_CFG)[1][:80]
    other = eps_sharpness(lambda t: f(t, x, y_true), theta, 1e-3, steps=3, lr=0.1,
                          init="random", generator=torch.Generator().manual_seed(4))  # fmt: skip
    assert other != pytest.approx(want, rel=1e-3)


def test_measures_split_per_experiment_gather_into_the_one_job_table(
    runs, fake_mnist, tmp_path
) -> None:
    """The workflow runs the measures as one job per experiment (rule analysis_part) and
    joins them (rule analysis): the joined file equals, row for row and in its settings, the
    one job over every run; parts measured with other settings are refused."""
    exps = ("params_vs_generalization", "random_labels", "batch_size")

    def inputs(names):
        paths = [p for e in names for p in runs[e].values()]
        return {
            "metrics": [p["metrics"] for p in paths],
            "weights": [p["weights"] for p in paths],
            "data": [str(fake_mnist["data"])],
            "random_labels": [str(fake_mnist["random_labels"])],
        }

    params = {**MEASURE_SETTINGS, "data_cfg": DATA_CFG, "device": "cpu"}
    name = "generalization_measures"
    whole = analysis_job(name, inputs(exps), tmp_path / "whole.parquet", params, 1)
    parts = []
    for e in exps:
        parts.append(str(tmp_path / f"part_{e}.parquet"))
        analysis_job(name, inputs([e]), parts[-1], params, 1)
    joined = analysis_job(name, {"parts": parts}, tmp_path / "joined.parquet", params, 1)
    assert len(joined) == 3 * 3 + 2 * 1 + 3 * 2
    pd.testing.assert_frame_equal(
        read_parquet(tmp_path / "joined.parquet"), read_parquet(tmp_path / "whole.parquet")
    )
    assert read_metadata(tmp_path / "joined.parquet") == read_metadata(tmp_path / "whole.parquet")
    assert joined.attrs == whole.attrs
    other = {**params, "sharpness": {**params["sharpness"], "eps": 5e-4}}
    analysis_job(name, inputs(exps[:1]), parts[0], other, 1)
    with pytest.raises(ValueError, match="settings"):
        analysis_job(name, {"parts": parts}, tmp_path / "bad.parquet", params, 1)
    with pytest.raises(ValueError, match="no part files"):
        analysis_job(name, {"parts": []}, tmp_path / "none.parquet", params, 1)


def _models(n: int, seed: int = 0) -> pd.DataFrame:
    """A synthetic analysis table of ``n`` models per data set, two experiments."""
    rng = np.random.default_rng(seed)
    rows = []
    for ds in ("mnist", "fashion_mnist"):
        for i in range(n):
            gap = rng.uniform(0, 0.1)
            rows.append({
                "dataset": ds, "experiment": "batch_size" if i % 2 else "params_vs_generalization",
                "variant": f"v{i % 4}", "seed": i // 4, "labels": "true", "model": "mlp 8",
                "loss_gap": gap + rng.normal(0, 0.02), "accuracy_gap": gap,
                "sensitivity": gap * 10 + rng.normal(0, 0.3), "sharpness": rng.uniform(1, 9),
                "top_eigenvalue": -gap, "param_norm": rng.uniform(1, 2), "params": 10 + i,
            })  # fmt: skip
    return pd.DataFrame(rows)


def test_measures_table_ranks_each_measure_by_kendall_tau(tmp_path) -> None:
    """τ of each measure with each gap per data set equals SciPy's, its interval holds it,
    ψ is the mean τ within the experiment's seeds, Ψ the mean of the ψ; a measure that is
    the gap negated has τ = -1 and one ranking the gap exactly τ = 1."""
    from scipy.stats import kendalltau

    from hw1.analysis.columns import MEASURES

    models = _models(24)
    models["param_norm"] = models["accuracy_gap"] * 3 + 1  # ranks the accuracy gap exactly
    path = tmp_path / "measures.parquet"
    write_parquet(models, path, metadata={"analysis": "generalization_measures", "eps": 1e-3})
    df = table_fn("generalization_measures")({"analysis": [str(path)]}, {})
    assert len(df) == len(models) * len(MEASURES)
    assert df.attrs == {"eps": 1e-3}
    for (ds, measure), g in df.groupby(["dataset", "measure"]):
        m = models[models.dataset == ds]
        for gap in ("loss_gap", "accuracy_gap"):
            want = kendalltau(m[measure], m[gap]).statistic
            r = g.iloc[0]
            assert r[f"tau_{gap}"] == pytest.approx(want)
            assert r[f"tau_{gap}_low"] <= want + 1e-12 and want - 1e-12 <= r[f"tau_{gap}_high"]
            psis = []
            for exp, e in m.groupby("experiment"):
                taus = [kendalltau(s[measure], s[gap]).statistic for _, s in e.groupby("seed")]
                psi = float(np.mean(taus))
                psis.append(psi)
                got = g[g.experiment == exp][f"psi_{gap}"].iloc[0]
                assert got == pytest.approx(psi)
            assert r[f"Psi_{gap}"] == pytest.approx(np.mean(psis))
    top = df[(df.measure == "top_eigenvalue")].iloc[0]
    assert top["tau_accuracy_gap"] == pytest.approx(-1.0)
    assert df[df.measure == "param_norm"]["tau_accuracy_gap"].iloc[0] == pytest.approx(1.0)


def test_measures_figure_and_summary_from_the_table(tmp_path) -> None:
    """The figure draws a panel per measure and the τ panel per data set; the summary's
    numbers are the table's τ, strongest first."""
    from hw1.summaries import summarize

    models = _models(16)
    path = tmp_path / "measures.parquet"
    write_parquet(models, path, metadata={"analysis": "generalization_measures", "eps": 1e-3,
                                          "ascent_steps": 3, "hessian_iters": 5})  # fmt: skip
    table = table_fn("generalization_measures")({"analysis": [str(path)]}, {})
    tpath = tmp_path / "table.parquet"
    write_parquet(table, tpath)
    render("generalization_measures", tpath, tmp_path / "f.png", tmp_path / "f.pdf")
    assert (tmp_path / "f.png").stat().st_size > 0
    cfg = {"experiments": {"generalization_measures": {
        "runs_from": ["batch_size", "params_vs_generalization"],
        "sharpness": MEASURE_SETTINGS["sharpness"]}}}  # fmt: skip
    s = summarize("generalization_measures", read_parquet(tpath), cfg)
    mn = s.numbers[s.numbers["data set"] == "MNIST"]
    taus = mn["τ, accuracy gap"].to_numpy()
    assert (np.abs(taus)[:-1] >= np.abs(taus)[1:]).all()
    want = table[(table.dataset == "mnist") & (table.measure == "top_eigenvalue")]
    got = mn[mn["measure"] == "λ_max"]["τ, accuracy gap"].iloc[0]
    assert got == pytest.approx(want["tau_accuracy_gap"].iloc[0]) and got == pytest.approx(-1.0)
    assert "λ_max ranks the gap in accuracy best" in s.observation
