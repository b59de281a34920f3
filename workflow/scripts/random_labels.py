"""Snakemake job: draw the fixed random training labels of one image data set."""

import sys
from pathlib import Path

# the package of this checkout, whatever the environment (conda jobs get no PYTHONPATH)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from hw1.data import random_labels_for
from hw1.runlog import logged

if __name__ == "__main__":
    logged(
        snakemake.log[0],
        random_labels_for,
        snakemake.params.dataset,
        snakemake.params.seed,
        snakemake.output[0],
    )
