"""The Findings section of the finished smoke run's report (results/report.md and
results/homework.html): every claim of hw1.summaries.findings a row, with a verdict by its
criterion and a link to its figure, and the rows exactly those the run's own figure tables
give (recomputed here from results/tables/*.parquet)."""

from __future__ import annotations

import html
import re

import pytest

from hw1.catalogue import ordered
from hw1.io import read_parquet
from hw1.summaries.common import report_config
from hw1.summaries.findings import NOT_RUN, VERDICTS, findings
from tests.workflow.wf import expected_figures

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def finished(smoke_run):
    workdir, cfg = smoke_run[0], smoke_run[1]
    tables = {
        f: read_parquet(workdir / f"results/tables/{f}.parquet")
        for f in ordered(expected_figures(cfg))
    }
    rows = findings(tables, report_config(cfg))
    md = (workdir / "results/report.md").read_text()
    page = (workdir / "results/homework.html").read_text()
    return workdir, cfg, rows, md, page


def md_rows(md: str) -> list[list[str]]:
    """The cells of the Findings table's rows in report.md."""
    section = md[md.index("## Findings") : md.index("## 1-1")]
    lines = [ln for ln in section.splitlines() if ln.startswith("| ")][1:]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines]


def test_every_claim_has_a_row_a_verdict_and_a_link(finished):
    workdir, cfg, rows, md, page = finished
    assert md.index("## Findings") < md.index("## 1-1 Deep vs shallow")
    cells = md_rows(md)
    # the smoke config runs every experiment: every claim is tested, none "not run"
    assert len(cells) == len(rows) == 11
    assert all(r.verdict in VERDICTS and r.verdict != NOT_RUN for r in rows)
    figures = set(expected_figures(cfg))
    for row, got in zip(rows, cells, strict=True):
        assert got[0] == row.claim.replace("|", "\\|")
        assert got[3] == row.ours.replace("|", "\\|"), row.topic  # the run's own numbers
        verdict = re.match(r"\*\*([a-z ]+)\*\*( \(.+?\))?; criterion: .+", got[4])
        assert verdict and verdict.group(1) == row.verdict, got[4]
        assert row.figure in figures
        assert got[5] == f"[{row.figure}](figures/{row.figure}.png)"
        assert (workdir / f"results/figures/{row.figure}.png").is_file()
        # homework.html: the same row, its figure linked to the figure's section
        assert html.escape(row.claim) in page and html.escape(row.ours) in page
        assert f'<a href="#{row.figure}">{row.figure}</a>' in page
        assert f'<section id="{row.figure}">' in page
    assert page.count('<strong class="verdict">') == len(rows)
    assert page.index('<section id="findings">') < page.index('<h2 id="part-1-1"')


def test_the_claims_of_the_literature_are_all_there(finished):
    """The rows name their sources: the course, Keskar, Zhang, Novak, Li (with the random-walk
    baseline); the smoke config has the Keskar protocol's table, so those rows use it."""
    _, _, rows, md, _ = finished
    topics = [r.topic for r in rows]
    assert topics == [
        "deep vs shallow (1-D functions)",
        "deep vs shallow (CNNs on images)",
        "Keskar: LB minima sharper",
        "Keskar: LB generalizes worse",
        "Zhang: random labels memorised",
        "Zhang: test accuracy at chance",
        "Zhang: time factor",
        "Novak: sensitivity vs gap (batch sizes)",
        "Novak: sensitivity vs gap (whole study)",
        "minimal ratio vs loss",
        "Li: trajectory in a plane",
    ]
    cells = md_rows(md)
    sources = [c[1] for c in cells]
    assert "MLDS 2018" in sources[0] and "Keskar" in sources[2] and "Zhang" in sources[4]
    assert "Novak" in sources[7] and "Novak" in sources[8]
    assert "Li, Xu" in sources[10] and "Antognini" in sources[10]
    assert {r.figure for r in rows[2:4]} == {"keskar"}
    assert rows[8].figure == "generalization_measures"
    # numbers the stored texts lack are said to be missing, not filled in
    for i in (6, 7, 8, 9, 10):
        assert "not found in the stored text" in cells[i][2]
    assert "no paper number" in cells[0][2]


def test_findings_file_has_a_line_per_finding(finished):
    workdir, _, rows, _, _ = finished
    lines = (workdir / "results/findings.txt").read_text().splitlines()
    found = [ln for ln in lines if ln.startswith("Finding, ")]
    assert len(found) == len(rows)
    for r, ln in zip(rows, found, strict=True):
        assert ln.startswith(f"Finding, {r.topic}: {r.verdict}")
