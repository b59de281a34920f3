"""Snakemake job: results/report.md and report.html from every figure's table and image."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's hw1, in any env
from hw1.report import build_report
from hw1.runlog import logged

figures, out = list(snakemake.params.figures), snakemake.output
tables = dict(zip(figures, snakemake.input.tables, strict=True))
pngs = dict(zip(figures, snakemake.input.pngs, strict=True))
logged(
    snakemake.log[0],
    build_report,
    tables,
    pngs,
    snakemake.params.config,
    out.md,
    out.html,
    out.findings,
)
