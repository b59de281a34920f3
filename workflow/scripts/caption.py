"""Snakemake job: the reStructuredText caption of one figure, from its table."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's hw1, in any env
from hw1.report import write_caption
from hw1.runlog import logged

name, table, out = snakemake.wildcards.figure, snakemake.input.table, snakemake.output[0]
logged(snakemake.log[0], write_caption, name, table, snakemake.params.config, out)
