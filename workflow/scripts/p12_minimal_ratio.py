"""Snakemake job: phase 2 of the minimal-ratio experiment (minimise ½‖∇L‖² from every final
phase-1 run) and the exact Hessian spectrum at each end point."""

import sys
from pathlib import Path

# the package of this checkout, whatever the environment (conda jobs get no PYTHONPATH)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from hw1.analysis.optimization_runs import minimal_ratio_job
from hw1.runlog import logged

if __name__ == "__main__":
    p = snakemake.params
    logged(
        snakemake.log[0],
        minimal_ratio_job,
        snakemake.input.weights,
        snakemake.input.function,
        snakemake.output[0],
        phase2=p.phase2,
        tol=p.tol,
        rtol=p.rtol,
        max_params=p.max_params,
        threads=snakemake.threads,
        device=p.device,
    )
