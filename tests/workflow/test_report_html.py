"""The Snakemake HTML report of the smoke run holds every figure, grouped by homework part,
each with its caption; checked in headless Chromium (the report is a JavaScript app)."""

from __future__ import annotations

import shutil
import subprocess
import zipfile

import pytest

from tests.workflow.wf import expected_figures, snakemake

pytestmark = pytest.mark.workflow
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    """Debian's chromium, installed on first use (as the CI machine starts without it)."""
    path = shutil.which("chromium")
    if path is None:
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, timeout=900
        )
        path = shutil.which("chromium")
    if path is None:
        pytest.fail("headless Chromium is needed: apt-get install chromium")
    return path


@pytest.fixture(scope="module")
def report_dom(smoke_run, tmp_path_factory):
    workdir = smoke_run[0]
    snakemake(workdir, "--report", "results/report.html")
    profile = tmp_path_factory.mktemp("chromium-profile")
    res = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            f"file://{workdir / 'results/report.html'}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return workdir, res.stdout


def test_report_lists_every_figure_by_part(smoke_run, report_dom):
    cfg = smoke_run[1]
    _, dom = report_dom
    for part in ("Part 1-1: deep vs shallow", "Part 1-2: optimization", "Part 1-3: generalization"):
        assert part in dom, part
    html = (report_dom[0] / "results/report.html").read_text()
    for fig in expected_figures(cfg):
        assert f"{fig}.png" in html, fig
    # each caption pulled in its settings and numbers from results/captions/<figure>.rst
    assert html.count("Observation.") >= len(expected_figures(cfg))
    assert "Problems with" not in html and "System Message" not in html


def test_report_zip_holds_every_figure(smoke_run):
    workdir, cfg = smoke_run[0], smoke_run[1]
    snakemake(workdir, "--report", "results/report.zip")
    with zipfile.ZipFile(workdir / "results/report.zip") as z:
        names = "\n".join(z.namelist())
    for fig in expected_figures(cfg):
        assert f"{fig}.png" in names, fig
