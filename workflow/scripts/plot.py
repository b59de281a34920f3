"""Snakemake job: draw one figure (PNG and PDF) from its table."""

from hw1.figures import render
from hw1.runlog import logged

if __name__ == "__main__":
    logged(
        snakemake.log[0],
        render,
        snakemake.params.figure,
        snakemake.input.table,
        snakemake.output.png,
        snakemake.output.pdf,
        snakemake.params.style,
    )
