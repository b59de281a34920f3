"""The figure catalogue is the one list of figures: everything that lists figures derives
from it, and a figure added to it alone (plus its three functions) goes through the whole
route: table, drawing, summary, caption and report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import yaml

from hw1 import catalogue
from hw1.catalogue import CATALOGUE, Figure, configured, figure, registered
from hw1.figures import render
from hw1.report import build_report, write_caption
from hw1.summaries import summarize
from hw1.summaries.common import FigureSummary, fmt
from hw1.tables import build_table
from tests.conftest import REPO
from tests.workflow.wf import expected_figures

# ---------------------------------------------------------------- a toy figure's functions


def table_toy(inputs: Mapping[str, list[str]], params: Mapping[str, Any]) -> pd.DataFrame:
    """Mean of each input file's column ``v``, scaled by ``params['scale']``."""
    rows = [
        {"run": i, "mean": float(pd.read_parquet(p)["v"].mean()) * params["scale"]}
        for i, p in enumerate(inputs["runs"])
    ]
    return pd.DataFrame(rows)


def fig_toy(table: pd.DataFrame, style: Mapping[str, Any]):
    fig, ax = plt.subplots(figsize=(style["width"], style["height"]))
    ax.bar(table["run"], table["mean"])
    return fig


def summarize_toy(table: pd.DataFrame, config: Mapping[str, Any]) -> FigureSummary:
    best = table.loc[table["mean"].idxmax()]
    return FigureSummary.of(
        "toy",
        [f"scale {fmt(config['scale'])}"],
        table,
        f"run {fmt(int(best['run']))} has the largest mean, {fmt(best['mean'])}.",
    )


TOY = Figure(
    "toy",
    "1-2",
    "toy_experiment",
    "A toy figure",
    "tests.unit.test_catalogue:table_toy",
    "tests.unit.test_catalogue:fig_toy",
    "tests.unit.test_catalogue:summarize_toy",
    "Means of two toy runs.",
)


def test_a_figure_added_to_the_catalogue_alone_goes_all_the_way(tmp_path):
    runs = []
    for i, values in enumerate(([1.0, 2.0], [5.0, 7.0])):
        runs.append(str(tmp_path / f"run{i}.parquet"))
        pd.DataFrame({"v": values}).to_parquet(runs[-1])
    cfg = {"experiments": {"toy_experiment": {}, "functions": {}}, "scale": 2.0}
    with registered(TOY):
        assert configured(cfg) == ["function_loss", "function_fit", "toy"]
        table = build_table("toy", {"runs": runs}, tmp_path / "toy.parquet", {"scale": 2.0})
        assert table["mean"].tolist() == [3.0, 12.0]
        render("toy", tmp_path / "toy.parquet", tmp_path / "toy.png", tmp_path / "toy.pdf")
        assert (tmp_path / "toy.png").stat().st_size > 1000
        s = summarize("toy", table, cfg)
        assert s.observation == "run 1 has the largest mean, 12."
        write_caption("toy", tmp_path / "toy.parquet", cfg, tmp_path / "toy.rst")
        assert (tmp_path / "toy.rst").read_text().startswith("Means of two toy runs.")
        build_report(
            {"toy": tmp_path / "toy.parquet"},
            {"toy": tmp_path / "toy.png"},
            cfg,
            tmp_path / "r.md",
            tmp_path / "r.html",
        )
        md = (tmp_path / "r.md").read_text()
        assert "## 1-2 Optimization" in md and "### A toy figure" in md
    assert "toy" not in catalogue.figures()  # unregistered afterwards
    with pytest.raises(KeyError, match=r"no figure .toy. in hw1\.catalogue"):
        figure("toy")


def test_every_catalogued_function_exists():
    for f in CATALOGUE:
        for fn in (f.table_fn(), f.plot_fn(), f.summary_fn()):
            assert callable(fn), (f.name, fn)
        assert f.part in catalogue.PARTS and f.title and f.about


def test_figures_follow_the_configured_experiments():
    full = yaml.safe_load((REPO / "config.yaml").read_text())
    overlay = yaml.safe_load((REPO / "overlays/keskar.yaml").read_text())
    # the default config draws all but the overlay's figure; with the overlay, all
    assert configured(full) == [f.name for f in CATALOGUE if f.name != "keskar"]
    with_overlay = {**full["experiments"], **overlay["experiments"]}
    assert configured({"experiments": with_overlay}) == [f.name for f in CATALOGUE]
    smoke = yaml.safe_load((REPO / "tests/config/smoke.yaml").read_text())
    assert configured(smoke) == expected_figures(smoke)
    del full["experiments"]["batch_size"]
    assert "sensitivity" not in configured(full) and "sharpness" not in configured(full)


def test_readme_figure_table_is_the_catalogue():
    readme = (REPO / "README.md").read_text()
    assert catalogue.markdown_table() in readme, "regenerate: python -m hw1.catalogue"


def test_a_bad_catalogue_entry_is_refused_naming_the_figure():
    fields = dict(
        zip(
            ("name", "part", "experiment", "title", "table", "plot", "summary"),
            ("toy", "1-2", "toy_experiment", "T", "m:t", "m:p", "m:s"),
            strict=True,
        )
    )
    with pytest.raises(ValueError, match="figure 'toy': table input 'analysis'"):
        Figure(**fields, reads=("analysis",))
    with pytest.raises(ValueError, match="figure 'toy': table input 'runs'"):
        Figure(**fields, reads=("runs",))
    with pytest.raises(ValueError, match="part '2-1'"):
        Figure(**{**fields, "part": "2-1"})
    assert Figure(**fields, reads=("metrics", "analysis:x")).reads == ("metrics", "analysis:x")


def test_every_analysis_has_its_resources_and_a_figure_that_reads_it():
    from hw1.catalogue import ANALYSES, CATALOGUE
    from hw1.resources import ANALYSIS_RUNTIME_MIN

    names = [a.name for a in ANALYSES]
    assert sorted(ANALYSIS_RUNTIME_MIN) == sorted(names)
    read = {r.partition(":")[2] for f in CATALOGUE for r in f.reads if r.startswith("analysis:")}
    assert read == set(names)
    # a split analysis's gather resolves (its parts are the job of each experiment); the
    # others refuse to gather
    for a in ANALYSES:
        assert callable(a.job_fn())
        if a.gather:
            assert callable(a.gather_fn()) and a.runs == "runs_from"
        else:
            with pytest.raises(ValueError, match="one job"):
                a.gather_fn()
