"""Snakemake job: results/report.md and report.html from every figure's table and image."""

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
    )
