"""Snakemake job: training and test grids of one 1-D target function."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's hw1, in any env
from hw1.data import write_function_grid
from hw1.runlog import logged

p = snakemake.params
fn = snakemake.wildcards.function
logged(snakemake.log[0], write_function_grid, fn, p.domain, p.n_train, snakemake.output[0])
