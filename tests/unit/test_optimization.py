"""Part 1-2 tables, analysis jobs and figures on tiny run files written by the real engine
(hw1.engine.train + hw1.jobs.train.write_run), checked against independent computations."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from hw1.analysis.common import trajectory_weights
from hw1.config import expand_variants, validate
from hw1.config.optimization import check_optimization as check_config
from hw1.data import function_tensors, write_function_grid
from hw1.engine import Data, evaluate_flat, model_spec, train
from hw1.figures import render
from hw1.io import read_parquet, write_parquet
from hw1.jobs.analysis import analysis_job
from hw1.jobs.optimization import error_surface_table, minimal_ratio_job
from hw1.jobs.train import write_run
from hw1.models import build_model, unflatten
from hw1.tables import build_table
from hw1.tables.optimization import table_grad_norm
from hw1.trainspec import TrainSpec
from tests.builders import analysis_params, train_spec
from tests.conftest import REPO

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def _spec(**kw) -> TrainSpec:
    return train_spec(**{"model": {"type": "mlp", "hidden": [4], "activation": "tanh"}, **kw})


def _mr_inputs(runs, fn_file) -> dict[str, list[str]]:
    """The minimal-ratio analysis's inputs as the workflow passes them."""
    return {"weights": [str(runs["minimal_ratio"]["weights"])], "function": [str(fn_file)]}


def _write(tmp, spec: TrainSpec, data: Data) -> dict[str, str]:
    res = train(spec, data)
    d = tmp / spec.experiment / spec.variant
    paths = {k: str(d / f"{k}.parquet") for k in ("metrics", "steps", "weights")}
    write_run(res, paths["metrics"], paths["steps"], paths["weights"])
    return paths


@pytest.fixture(scope="module")
def fn_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("fn") / "fn_sinc.parquet"
    write_function_grid("sinc", (-1.0, 1.0), 40, p)
    return p


@pytest.fixture(scope="module")
def mnist_like() -> Data:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (60,), generator=g)
    return Data(x, y, x[:20], y[:20])


@pytest.fixture(scope="module")
def runs(tmp_path_factory, fn_file, mnist_like):
    """Run files of the four experiments at toy scale."""
    tmp = tmp_path_factory.mktemp("runs")
    fdata = Data(*function_tensors(fn_file))
    mlp = {"type": "mlp", "hidden": [5, 4], "activation": "relu"}
    traj = dict(dataset="mnist", model=mlp, batch_size=20, epochs=4, snapshot_epochs=[0, 2, 4])
    grad = {"experiment": "grad_norm", "record_steps": True}
    mnist_grad = {k: v for k, v in traj.items() if k != "snapshot_epochs"}
    return {
        "minimal_ratio": _write(
            tmp, _spec(experiment="minimal_ratio", seeds=list(range(5))), fdata
        ),
        "grad_sinc": _write(tmp, _spec(variant="sinc", **grad), fdata),
        "grad_mnist": _write(
            tmp, _spec(variant="mnist", seeds=[0], **grad, **mnist_grad), mnist_like
        ),
        "pca": _write(tmp, _spec(experiment="pca_trajectories", **traj), mnist_like),
    }


@pytest.fixture(scope="module")
def tables(tmp_path_factory, runs, fn_file, mnist_like):
    """The four figure tables written as build_table writes them."""
    tmp = tmp_path_factory.mktemp("tables")
    out = {}
    mr = tmp / "analysis_minimal_ratio.parquet"
    phase2 = {"threshold": 1e-3, "max_steps": 30, "lr": 1e-3, "optimizer": "adam"}
    params = analysis_params("minimal_ratio", phase2=phase2, eigenvalue_tol=1e-6, max_params=100)
    analysis_job("minimal_ratio", _mr_inputs(runs, fn_file), mr, params, 1)
    out["minimal_ratio"] = build_table(
        "minimal_ratio", {"analysis": [str(mr)]}, tmp / "minimal_ratio.parquet"
    )
    out["pca_trajectories"] = build_table(
        "pca_trajectories",
        {"weights": [runs["pca"]["weights"]], "metrics": [runs["pca"]["metrics"]]},
        tmp / "pca_trajectories.parquet",
    )
    out["grad_norm"] = build_table(
        "grad_norm",
        {"steps": [runs["grad_sinc"]["steps"], runs["grad_mnist"]["steps"]]},
        tmp / "grad_norm.parquet",
    )
    spec, layout, rows, w = trajectory_weights(runs["pca"]["weights"])
    surface = analysis_params(
        "error_surface",
        surface={"grid": 3, "span": 0.5, "pca_grid": 3, "points_per_chunk": 4},
    )["surface"]
    surface = {k: v for k, v in surface.items() if k != "n_examples"}
    es = error_surface_table(
        spec,
        layout,
        rows,
        w,
        mnist_like.x_train,
        mnist_like.y_train,
        **{**surface, "examples_per_chunk": 25},
    )
    write_parquet(es, tmp / "analysis_error_surface.parquet")
    out["error_surface"] = build_table(
        "error_surface",
        {"analysis": [str(tmp / "analysis_error_surface.parquet")]},
        tmp / "error_surface.parquet",
    )
    return tmp, out


# ----------------------------------------------------------------------------- minimal ratio


def test_minimal_ratio_keeps_every_run_and_states_settings(tables, runs):
    tmp, _ = tables
    df = read_parquet(tmp / "minimal_ratio.parquet")
    assert sorted(df["run"]) == [0, 1, 2, 3, 4]
    for col in (
        "run",
        "loss",
        "grad_norm",
        "minimal_ratio",
        "n_positive",
        "n_near_zero",
        "n_params",
        "converged",
        "steps",
    ):
        assert col in df
    assert (df["n_params"] == 13).all()  # 1-4-1 MLP
    assert df["n_positive"].le(13).all() and df["n_near_zero"].ge(0).all()
    np.testing.assert_allclose(df["minimal_ratio"], df["n_positive"] / df["n_params"])
    assert ((df["steps"] <= 30) & ((df["steps"] == 30) | df["converged"])).all()
    assert df["converged"].equals(df["grad_norm"] < 1e-3)
    a = df.attrs
    assert a["threshold"] == 1e-3 and a["tol"] == 1e-6 and a["max_steps"] == 30
    assert a["rtol"] == 1e-6 and (df["tol"] >= df["grad_norm"]).all()
    assert a["n_converged"] == int(df["converged"].sum()) and a["n_runs"] == 5


def test_minimal_ratio_phase1_loss_is_float64_training_grid_loss(tables, runs, fn_file):
    """Independent path: an nn.Module in float64 with the stored final weights."""
    tmp, _ = tables
    df = read_parquet(tmp / "minimal_ratio.parquet").set_index("run")
    w = read_parquet(runs["minimal_ratio"]["weights"])
    grid = read_parquet(fn_file)
    tr = grid[grid["split"] == "train"]
    x = torch.tensor(tr["x"].to_numpy())[:, None]
    y = torch.tensor(tr["y"].to_numpy())[:, None]
    spec = _spec(experiment="minimal_ratio")
    net = build_model(model_spec(spec, (1,))).double()
    for _, row in w[w["epoch"] == 3].iterrows():
        flat = torch.tensor(np.asarray(row["weights"], dtype=np.float64))
        torch.nn.utils.vector_to_parameters(flat, net.parameters())
        with torch.no_grad():
            ref = nn.functional.mse_loss(net(x), y).item()
        assert df.loc[row["seed"], "loss_phase1"] == pytest.approx(ref, rel=1e-12)


def test_minimal_ratio_with_no_phase2_steps_keeps_phase1_point(tmp_path, runs, fn_file):
    out = tmp_path / "mr.parquet"
    phase2 = {"threshold": 1e-12, "max_steps": 0, "lr": 1e-3}
    params = analysis_params("minimal_ratio", phase2=phase2, eigenvalue_tol=1e-6, max_params=100)
    df = analysis_job("minimal_ratio", _mr_inputs(runs, fn_file), out, params, 1)
    assert (df["steps"] == 0).all() and not df["converged"].any()
    np.testing.assert_allclose(df["loss"], df["loss_phase1"], rtol=1e-14)
    with pytest.raises(ValueError, match="max_params"):
        minimal_ratio_job(_mr_inputs(runs, fn_file), {**params, "max_params": 5})


# ----------------------------------------------------------------------------- PCA


def test_pca_layer1_uses_only_first_layer_columns(tables, runs):
    _, out = tables
    df = out["pca_trajectories"]
    _, layout, _, w = trajectory_weights(runs["pca"]["weights"])
    n1 = 784 * 5 + 5
    layer = df[df["part"] == "layer1"]
    assert (layer["n_params"] == n1).all()
    assert (df[df["part"] == "whole"]["n_params"] == layout.n_params).all()
    # independent PCA (numpy SVD) on the first n1 columns only; equal up to axis signs
    x = w[:, :n1].astype(np.float64)
    x = x - x.mean(0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    ref = u[:, :2] * s[:2]
    got = layer[["pc1", "pc2"]].to_numpy()
    np.testing.assert_allclose(np.abs(got), np.abs(ref), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(layer[["evr1", "evr2"]].iloc[0], (s[:2] ** 2) / (s**2).sum())
    # changing the other layers' weights leaves the layer-1 projection untouched
    tab = read_parquet(runs["pca"]["weights"])
    from hw1.analysis.pca import fit_pca_plane

    w2 = w.copy()
    w2[:, n1:] += np.random.default_rng(0).normal(size=w2[:, n1:].shape)
    np.testing.assert_allclose(fit_pca_plane(w2, slice(0, n1)).project(w2), got, atol=1e-9)
    assert len(tab) == len(layer)


def test_pca_table_has_every_run_epoch_and_its_training_metrics(tables, runs):
    _, out = tables
    df = out["pca_trajectories"]
    assert set(df["part"]) == {"whole", "layer1"}
    assert sorted(df["run"].unique()) == [0, 1, 2]
    assert sorted(df["epoch"].unique()) == [0, 2, 4]
    m = read_parquet(runs["pca"]["metrics"])
    m = m[m["split"] == "train"].set_index(["seed", "epoch"])
    for _, r in df.iterrows():
        assert r["loss"] == m.loc[(r["run"], r["epoch"]), "loss"]
        assert r["accuracy"] == m.loc[(r["run"], r["epoch"]), "accuracy"]


# ----------------------------------------------------------------------------- grad norm


def test_grad_norm_table_equals_steps_files(tables, runs):
    _, out = tables
    df = out["grad_norm"]
    assert list(dict.fromkeys(df["case"])) == ["sinc", "mnist"]
    for case, key in (("sinc", "grad_sinc"), ("mnist", "grad_mnist")):
        steps = read_parquet(runs[key]["steps"])
        got = df[df["case"] == case].reset_index(drop=True)
        assert len(steps) > 0
        for col in ("seed", "epoch", "step", "loss", "grad_norm"):
            np.testing.assert_array_equal(got[col].to_numpy(), steps[col].to_numpy())


def test_grad_norm_without_recorded_steps_is_an_error(tmp_path, fn_file):
    data = Data(*function_tensors(fn_file))
    paths = _write(tmp_path, _spec(experiment="grad_norm", epochs=1), data)
    with pytest.raises(ValueError, match="record_steps"):
        table_grad_norm({"steps": [paths["steps"]]}, {})


# ----------------------------------------------------------------------------- error surface


def test_error_surface_centre_and_trajectories(tables, runs, mnist_like):
    _, out = tables
    df = out["error_surface"]
    spec, layout, rows, w = trajectory_weights(runs["pca"]["weights"])
    x, y = mnist_like.x_train, mnist_like.y_train
    rnd = df[(df["panel"] == "random") & (df["kind"] == "surface")]
    assert len(rnd) == 9
    centre = rnd[(rnd["a"] == 0) & (rnd["b"] == 0)]["loss"].item()
    final = w[rows.index[(rows["seed"] == 0) & (rows["epoch"] == 4)][0]]
    net = build_model(model_spec(spec, (1, 28, 28)))
    net.load_state_dict(unflatten(torch.from_numpy(final), layout))
    with torch.no_grad():
        ref = nn.functional.cross_entropy(net(x), y).item()
    assert centre == pytest.approx(ref, rel=1e-5)


def test_error_surface_own_planes_follow_li_et_al(tables, runs, mnist_like):
    """Each run's plane is the PCA of ITS OWN θ_i − θ_final (rebuilt here with numpy's SVD),
    centred at its end point: the end point is (0, 0), every snapshot's coordinates are its
    deviation projected on the two directions, the grid's losses are those of
    θ_final + a·d1 + b·d2, and each snapshot carries its own loss."""
    _, out = tables
    df = out["error_surface"]
    spec, _, rows, w = trajectory_weights(runs["pca"]["weights"])
    x, y = mnist_like.x_train, mnist_like.y_train
    info = {r["run"]: r for r in df.attrs["pca_runs"]}
    assert sorted(info) == [0, 1, 2]
    for run in (0, 1, 2):
        own = rows[rows["seed"] == run].sort_values("epoch")
        wr = w[own.index].astype(np.float64)
        dev = wr - wr[-1]
        m = dev[:-1] - dev[:-1].mean(0)
        _, sv, vt = np.linalg.svd(m, full_matrices=False)
        d = vt[:2]
        evr = sv[:2] ** 2 / (sv**2).sum()
        np.testing.assert_allclose(info[run]["evr"], evr, rtol=1e-6)
        tr = df[(df["panel"] == "run") & (df["kind"] == "trajectory") & (df["run"] == run)]
        tr = tr.sort_values("epoch")
        coords = dev @ d.T
        sign = np.sign(np.sum(tr[["a", "b"]].to_numpy() * coords, 0))  # SVD signs are arbitrary
        np.testing.assert_allclose(tr[["a", "b"]].to_numpy(), coords * sign, atol=1e-6)
        assert tr[["a", "b"]].to_numpy()[-1].tolist() == [0.0, 0.0]  # the end lies on the plane
        ref_loss, _ = evaluate_flat(spec, torch.from_numpy(wr).float(), x, y)
        np.testing.assert_allclose(tr["loss"], ref_loss.numpy(), rtol=1e-6)
        grid = df[(df["panel"] == "run") & (df["kind"] == "surface") & (df["run"] == run)]
        assert len(grid) == 9
        pts = torch.stack(
            [
                torch.from_numpy(wr[-1] + a * sign[0] * d[0] + b * sign[1] * d[1])
                for a, b in zip(grid["a"], grid["b"], strict=True)
            ]
        )
        ref, _ = evaluate_flat(spec, pts.float(), x, y)
        np.testing.assert_allclose(grid["loss"].to_numpy(), ref.numpy(), rtol=1e-4)


def test_error_surface_random_panel_equals_independent_directions(tables, runs, mnist_like):
    """Every point of the random panel is the loss at θ* + a·d1 + b·d2 with d1, d2 rebuilt
    here independently: Gaussian draws (generator seeded with direction_seed, parameters in
    order, d1 then d2), each weight row rescaled to the norm of the same row of θ*, biases
    zero (Li et al. 2018). Unnormalised directions, or one direction on both axes, fail."""
    _, out = tables
    df = out["error_surface"]
    spec, layout, rows, w = trajectory_weights(runs["pca"]["weights"])
    final = w[rows.index[(rows["seed"] == 0) & (rows["epoch"] == spec.epochs)][0]]
    theta0 = torch.from_numpy(final.astype(np.float64))
    gen = torch.Generator().manual_seed(0)
    dirs = []
    for _ in range(2):
        parts = []
        for name, shape in zip(layout.names, layout.shapes, strict=True):
            d = torch.randn(shape, generator=gen, dtype=torch.float64)
            p = unflatten(theta0, layout)[name]
            if len(shape) >= 2:
                d = d / d.norm(dim=1, keepdim=True) * p.norm(dim=1, keepdim=True)
            else:
                d = torch.zeros(shape, dtype=torch.float64)
            parts.append(d.reshape(-1))
        dirs.append(torch.cat(parts))
    d1, d2 = dirs
    rnd = df[(df["panel"] == "random") & (df["kind"] == "surface")]
    pts = torch.stack([theta0 + a * d1 + b * d2 for a, b in zip(rnd["a"], rnd["b"], strict=True)])
    ref, _ = evaluate_flat(spec, pts.float(), mnist_like.x_train, mnist_like.y_train)
    np.testing.assert_allclose(rnd["loss"].to_numpy(), ref.numpy(), rtol=1e-4)
    # the surface is not symmetric in (a, b): the two axes are different directions
    lo = rnd.set_index(["a", "b"])["loss"]
    assert abs(lo[(0.5, -0.5)] - lo[(-0.5, 0.5)]) > 1e-6


# ----------------------------------------------------------------------------- figures, config


P12_FIGURES = ["pca_trajectories", "grad_norm", "minimal_ratio", "error_surface"]


@pytest.mark.parametrize("name", P12_FIGURES)
def test_figures_render_from_their_tables(tables, tmp_path, name):
    tmp, _ = tables
    png, pdf = tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"
    render(name, tmp / f"{name}.parquet", png, pdf, {"dpi": 50})
    assert png.stat().st_size > 1000 and pdf.stat().st_size > 1000


def _smoke():
    cfg = yaml.safe_load((REPO / "tests/config/smoke.yaml").read_text())
    return validate(cfg, SCHEMA)


def test_shipped_configs_check_out():
    for path in ("config.yaml", "tests/config/smoke.yaml"):
        cfg = validate(yaml.safe_load((REPO / path).read_text()), SCHEMA)
        v = expand_variants(cfg)
        assert check_config(cfg, v) == []
        for exp in P12_FIGURES:
            assert exp in cfg["experiments"], (path, exp)
        if path == "config.yaml":
            (pca,) = v["pca_trajectories"].values()
            assert len(pca["seeds"]) == 8 and pca["epochs"] >= 30
            assert pca["snapshot_epochs"] == list(range(0, pca["epochs"] + 1, 3))
            (mr,) = v["minimal_ratio"].values()
            assert len(mr["seeds"]) == 100


@pytest.mark.parametrize(
    "exp, mutate, words",
    [
        ("grad_norm", lambda e: e["train"].update(record_steps=False), "record_steps must be true"),
        ("minimal_ratio", lambda e: e["train"].update(dataset="mnist"), "1-D function"),
        ("pca_trajectories", lambda e: e["train"].update(seeds=1), "seeds >= 2"),
        ("error_surface", lambda e: e.update(surface={"seed": 99}), "surface.seed"),
    ],
)
def test_config_checks_name_the_key(exp, mutate, words):
    cfg = copy.deepcopy(_smoke())
    mutate(cfg["experiments"][exp])
    errs = check_config(cfg, expand_variants(cfg))
    assert any(words in e and f"experiments.{exp}" in e for e in errs), errs
