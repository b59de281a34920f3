"""Snakemake job: draw one figure (PNG and PDF) from its table."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's hw1, in any env
from hw1.figures import render
from hw1.runlog import logged

out = snakemake.output
logged(
    snakemake.log[0],
    render,
    snakemake.params.figure,
    snakemake.input.table,
    out.png,
    out.pdf,
    snakemake.params.style,
)
