"""Snakemake job: build one figure's tidy table from run files and analyses."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's hw1, in any env
from hw1.runlog import logged, rule_inputs
from hw1.tables import build_table

figure, options = snakemake.wildcards.figure, dict(snakemake.params.options)
logged(
    snakemake.log[0],
    build_table,
    figure,
    rule_inputs(snakemake.input),
    snakemake.output[0],
    options,
)
