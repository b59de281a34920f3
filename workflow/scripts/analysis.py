"""Snakemake job: one analysis of trained runs, by name (hw1.catalogue.ANALYSES)."""

import sys
from pathlib import Path

# the package of this checkout, whatever the environment (conda jobs get no PYTHONPATH)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from hw1.jobs.analysis import analysis_job
from hw1.runlog import logged

if __name__ == "__main__":
    logged(
        snakemake.log[0],
        analysis_job,
        snakemake.wildcards.analysis,
        {
            k: list(v) if not isinstance(v, str) else [v]
            for k, v in snakemake.input.items()
            if k != "code"  # the package files the job runs (a rerun trigger only)
        },
        snakemake.output[0],
        dict(snakemake.params.options),
        snakemake.threads,
    )
