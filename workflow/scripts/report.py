"""Snakemake job: results/report.md and report.html from every figure's table and image."""

import sys
from pathlib import Path

# the package of this checkout, whatever the environment (conda jobs get no PYTHONPATH)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from hw1.report import build_report
from hw1.runlog import logged

if __name__ == "__main__":
    figures = list(snakemake.params.figures)
    logged(
        snakemake.log[0],
        build_report,
        dict(zip(figures, snakemake.input.tables, strict=True)),
        dict(zip(figures, snakemake.input.pngs, strict=True)),
        snakemake.params.config,
        snakemake.output.md,
        snakemake.output.html,
        snakemake.output.findings,
    )
