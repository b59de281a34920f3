"""Figures render from their tables alone, and diverged runs are shown, never averaged in."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hw1.figures import registry, render
from hw1.figures.common import band, new_figure
from hw1.io import write_parquet


def mnist_depth_table(diverged_seed: int | None = None) -> pd.DataFrame:
    rows = []
    for model, depth, params in (("cnn1", 1, 25354), ("cnn2", 2, 25108)):
        for seed in range(3):
            for epoch in range(4):
                for split in ("train", "test"):
                    bad = seed == diverged_seed and epoch >= 2
                    rows.append(
                        dict(
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
    table = tmp_path / "mnist_depth.parquet"
    write_parquet(mnist_depth_table(), table)
    render("mnist_depth", table, tmp_path / "f.png", tmp_path / "f.pdf", {"dpi": 60})
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"


def test_diverged_runs_are_excluded_from_the_mean_and_marked():
    df = mnist_depth_table(diverged_seed=1)
    fig, axes = new_figure({"width": 4, "height": 3, "font_size": 8}, 1)
    sub = df[(df.model == "cnn1") & (df.split == "train")]
    band(axes[0], sub, "epoch", "loss", "C0", "cnn1")
    line = axes[0].lines[0]
    healthy = sub[sub.seed != 1].groupby("epoch").loss.mean()
    np.testing.assert_allclose(line.get_ydata(), healthy.to_numpy())
    labels = [ln.get_label() for ln in axes[0].lines]
    assert "cnn1: 1 diverged" in labels
    assert isinstance(fig, Figure)


def test_every_figure_of_the_study_has_a_drawing_function():
    from hw1.tables import registry as tables

    names = {
        "function_loss",
        "function_fit",
        "mnist_depth",
        "pca_trajectories",
        "grad_norm",
        "minimal_ratio",
        "error_surface",
        "random_labels",
        "params_vs_generalization",
        "interpolation",
        "sensitivity",
        "sharpness",
    }
    assert set(registry()) == names
    assert set(tables()) == names


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
