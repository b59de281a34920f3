"""Snakemake job: one analysis of trained runs, by name (hw1.catalogue.ANALYSES)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's hw1, in any env
from hw1.jobs.analysis import analysis_job
from hw1.runlog import logged, rule_inputs

logged(
    snakemake.log[0],
    analysis_job,
    snakemake.wildcards.analysis,
    rule_inputs(snakemake.input),
    snakemake.output[0],
    dict(snakemake.params.options),
    snakemake.threads,
)
