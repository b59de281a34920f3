"""Snakemake job: loss surfaces around one trained image-classification run (random
filter-normalised directions and each run's own trajectory plane)."""

import sys
from pathlib import Path

# the package of this checkout, whatever the environment (conda jobs get no PYTHONPATH)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from hw1.analysis.optimization_runs import error_surface_job
from hw1.runlog import logged

if __name__ == "__main__":
    p = snakemake.params
    logged(
        snakemake.log[0],
        error_surface_job,
        snakemake.input.weights,
        {k: v for k, v in snakemake.input.items() if k not in ("weights", "code")},
        snakemake.output[0],
        data_cfg=p.data_cfg,
        surface=p.surface,
        threads=snakemake.threads,
        device=p.device,
    )
