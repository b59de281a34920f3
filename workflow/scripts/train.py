"""Snakemake job: train every seed of one experiment variant (stacked) and write its runs."""

import sys
from pathlib import Path

# the package of this checkout, whatever the environment (conda jobs get no PYTHONPATH)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from hw1.jobs.train import run_training_job
from hw1.runlog import logged

if __name__ == "__main__":
    logged(
        snakemake.log[0],
        run_training_job,
        snakemake.params.spec,
        {k: v for k, v in snakemake.input.items() if k != "code"},
        dict(snakemake.output.items()),
        data_cfg=snakemake.params.data_cfg,
        device=snakemake.params.device,
        graphs=snakemake.params.cuda_graphs,
        threads=snakemake.threads,
        checkpoint=snakemake.params.checkpoint,
    )
