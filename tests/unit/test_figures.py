"""Figures render from their tables alone, and diverged runs are shown, never averaged in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from hw1.figures import render
from hw1.figures.common import band, new_figure
from hw1.io import write_parquet


def cnn_depth_table(diverged_seed: int | None = None, data=("mnist",)) -> pd.DataFrame:
    rows = []
    for ds, model, depth, params in (
        (d, *m) for d in data for m in (("cnn1", 1, 25354), ("cnn2", 2, 25108))
    ):
        for seed in range(3):
            for epoch in range(4):
                for split in ("train", "test"):
                    bad = seed == diverged_seed and epoch >= 2
                    rows.append(
                        dict(
                            dataset=ds,
                            model=model,
                            depth=depth,
                            hidden="x",
                            params=params,
                            seed=seed,
                            epoch=epoch,
                            split=split,
                            loss=np.nan if bad else 1.0 / (epoch + 1 + seed),
                            accuracy=np.nan if bad else 0.5 + 0.1 * epoch,
                            diverged=bad,
                        )
                    )
    return pd.DataFrame(rows)


def test_figure_renders_from_its_table_only(tmp_path):
    table = tmp_path / "cnn_depth.parquet"
    write_parquet(cnn_depth_table(), table)
    render("cnn_depth", table, tmp_path / "f.png", tmp_path / "f.pdf", {"dpi": 60})
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"


def test_a_figure_draws_one_row_per_data_set():
    """Two data sets: two rows of the same panels, each titled by its data set and drawing
    only its own rows; the style's height is per row."""
    from hw1.figures.deep_vs_shallow import fig_cnn_depth

    df = cnn_depth_table(data=("mnist", "fashion_mnist"))
    df.loc[df["dataset"] == "fashion_mnist", "loss"] *= 10
    style = {"width": 9, "height": 3, "dpi": 50, "font_size": 8, "palette": "tab10"}
    fig = fig_cnn_depth(df, style)
    axes = fig.axes
    assert len(axes) == 8 and fig.get_size_inches()[1] == 6
    assert axes[0].get_title().startswith("MNIST: ") and axes[4].get_title().startswith(
        "Fashion-MNIST: "
    )
    for ax, ds in ((axes[0], "mnist"), (axes[4], "fashion_mnist")):
        sub = df[(df.dataset == ds) & (df.model == "cnn1") & (df.split == "train")]
        np.testing.assert_allclose(
            ax.lines[0].get_ydata(), sub.groupby("epoch").loss.mean().to_numpy()
        )


def test_cnn_depth_draws_error_rates_on_log_axes():
    """The accuracy panels show 1 − accuracy (mean over seeds) on log axes, where 1–2%
    differences are visible; an error of exactly 0 is not drawn (no place on a log axis)."""
    from hw1.figures.deep_vs_shallow import fig_cnn_depth

    df = cnn_depth_table()
    df.loc[(df.split == "train") & (df.epoch == 3), "accuracy"] = 1.0  # every example right
    style = {"width": 9, "height": 3, "dpi": 50, "font_size": 8, "palette": "tab10"}
    axes = fig_cnn_depth(df, style).axes
    assert [ax.get_yscale() for ax in axes] == ["log"] * 3 + ["linear"]
    for ax, split in ((axes[1], "train"), (axes[2], "test")):
        sub = df[(df.model == "cnn1") & (df.split == split)]
        want = 1.0 - sub.groupby("epoch").accuracy.mean().to_numpy()
        want[want <= 0] = np.nan
        np.testing.assert_allclose(ax.lines[0].get_ydata(), want)
        assert "error" in ax.get_title()
    # the fourth panel: each model's final test error in %, mean over seeds, min-max bars
    last = df[(df.split == "test") & (df.epoch == df.epoch.max())]
    models = list(dict.fromkeys(df.sort_values("depth", kind="stable")["model"]))
    zoom = axes[3]
    assert "final test error (%)" in zoom.get_title()
    points = [ln for ln in zoom.lines if ln.get_marker() == "o"]
    assert len(points) == len(models)
    for i, (ln, m) in enumerate(zip(points, models, strict=True)):
        err = 100 * (1.0 - last.loc[last.model == m, "accuracy"].to_numpy())
        assert ln.get_xdata()[0] == i
        assert ln.get_ydata()[0] == pytest.approx(err.mean(), rel=1e-12)
    bars = [c for c in zoom.collections if c.get_segments()]
    lo_hi = bars[0].get_segments()[0][:, 1]
    err = 100 * (1.0 - last.loc[last.model == models[0], "accuracy"].to_numpy())
    np.testing.assert_allclose(sorted(lo_hi), [err.min(), err.max()], rtol=1e-12)


@pytest.mark.parametrize("decades,labelled", [(1.0, True), (4.0, False)])
def test_log_axes_of_few_decades_label_their_2x_and_5x_ticks(decades, labelled):
    from hw1.figures.common import label_log_minor_ticks

    fig, axes = new_figure({"width": 4, "height": 3, "font_size": 8}, 1)
    ax = axes[0]
    ax.plot([0, 1], [0.1, 0.1 * 10**decades])
    ax.set_yscale("log")
    label_log_minor_ticks(ax)
    fig.canvas.draw()
    minor = [t.get_text() for t in ax.get_yticklabels(minor=True) if t.get_text()]
    assert bool(minor) == labelled
    if labelled:
        assert "0.2" in minor and "0.5" in minor


def test_diverged_runs_are_excluded_from_the_mean_and_marked():
    df = cnn_depth_table(diverged_seed=1)
    fig, axes = new_figure({"width": 4, "height": 3, "font_size": 8}, 1)
    sub = df[(df.model == "cnn1") & (df.split == "train")]
    band(axes[0], sub, "epoch", "loss", "C0", "cnn1")
    line = axes[0].lines[0]
    healthy = sub[sub.seed != 1].groupby("epoch").loss.mean()
    np.testing.assert_allclose(line.get_ydata(), healthy.to_numpy())
    labels = [ln.get_label() for ln in axes[0].lines]
    assert "cnn1: 1 diverged" in labels
    assert isinstance(fig, Figure)


def test_a_diverged_run_of_one_model_leaves_other_models_seeds_alone():
    rows = []
    for params in (100, 1000):
        for seed in range(3):
            bad = params == 1000 and seed == 0
            rows.append(
                dict(
                    params=params, seed=seed, loss=np.nan if bad else float(seed + 1), diverged=bad
                )
            )
    df = pd.DataFrame(rows)
    fig, axes = new_figure({"width": 4, "height": 3, "font_size": 8}, 1)
    band(axes[0], df, "params", "loss", "C0", "train")
    mean = axes[0].lines[0].get_ydata()
    np.testing.assert_allclose(mean, [2.0, 2.5])  # seed 0 still counts at 100 parameters
    assert isinstance(fig, Figure)


def function_fit_table() -> pd.DataFrame:
    x = np.linspace(-1, 1, 9)
    rows = []
    for model, depth, offsets in (("shallow", 1, (0.3, -0.1, 0.05)), ("deep", 5, (0.2, 0.0, -0.4))):
        for seed, off in enumerate(offsets):
            for xi in x:
                rows.append(
                    dict(
                        function="sinc",
                        model=model,
                        depth=depth,
                        hidden="h",
                        params=472,
                        seed=seed,
                        x=xi,
                        y_true=np.sinc(5 * xi),
                        y_pred=np.sinc(5 * xi) + off,
                    )
                )
    return pd.DataFrame(rows)


def test_function_fit_draws_each_seeds_own_prediction_never_a_mean():
    from hw1.figures.deep_vs_shallow import fig_function_fit, median_seed

    df = function_fit_table()
    fig = fig_function_fit(
        df, {"width": 6, "height": 3, "font_size": 8, "dpi": 50, "palette": "tab10"}
    )
    ax = fig.axes[0]
    own = {
        (m, s): g.sort_values("x")["y_pred"].to_numpy()
        for (m, s), g in df.groupby(["model", "seed"])
    }
    curves = [ln.get_ydata() for ln in ax.lines if ln.get_label() != "ground truth"]
    assert len(curves) == len(own)  # one curve per seed, no extra (mean) curve
    for y in curves:
        assert any(np.array_equal(y, v) for v in own.values()), "a curve is not a seed's prediction"
    # the bold, labelled curve of each model is its median-MSE seed
    assert median_seed(df[df.model == "shallow"]) == 1  # MSEs 0.09, 0.01, 0.0025
    assert median_seed(df[df.model == "deep"]) == 0  # MSEs 0.04, 0, 0.16
    labelled = {
        ln.get_label(): ln.get_ydata() for ln in ax.lines if not ln.get_label().startswith("_")
    }
    np.testing.assert_array_equal(labelled["shallow (472 params), seed 1"], own[("shallow", 1)])
    np.testing.assert_array_equal(labelled["deep (472 params), seed 0"], own[("deep", 0)])
