"""Snakemake job: train every seed of one experiment variant (stacked) and write its runs."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's hw1, in any env
from hw1.jobs.train import run_training_job
from hw1.runlog import logged

p = snakemake.params
files = {k: v for k, v in snakemake.input.items() if k != "code"}
logged(
    snakemake.log[0],
    run_training_job,
    p.spec,
    files,
    dict(snakemake.output.items()),
    data_cfg=p.data_cfg,
    device=p.device,
    graphs=p.cuda_graphs,
    threads=snakemake.threads,
    checkpoint=p.checkpoint,
)
