"""Snakemake job: a Part 1-3 analysis of trained weights (interpolation, flatness)."""

import sys
from pathlib import Path

# the package of this checkout, whatever the environment (conda jobs get no PYTHONPATH)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from pathlib import Path

from hw1.analysis.generalization_runs import analysis_job
from hw1.runlog import logged

if __name__ == "__main__":
    logged(
        snakemake.log[0],
        analysis_job,
        Path(snakemake.output[0]).stem,
        {
            k: list(v) if not isinstance(v, str) else [v]
            for k, v in snakemake.input.items()
            if k != "code"  # the package files the job runs (a rerun trigger only)
        },
        snakemake.output[0],
        dict(snakemake.params.items()),
        snakemake.threads,
    )
