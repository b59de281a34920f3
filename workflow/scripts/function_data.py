"""Snakemake job: training and test grids of one 1-D target function."""

import sys
from pathlib import Path

# the package of this checkout, whatever the environment (conda jobs get no PYTHONPATH)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from hw1.data import write_function_grid
from hw1.runlog import logged

if __name__ == "__main__":
    p = snakemake.params
    logged(
        snakemake.log[0],
        write_function_grid,
        snakemake.wildcards.function,
        p.domain,
        p.n_train,
        snakemake.output[0],
    )
