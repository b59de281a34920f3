"""Snakemake job: draw the fixed random MNIST training labels."""

import sys
from pathlib import Path

# the package of this checkout, whatever the environment (conda jobs get no PYTHONPATH)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from hw1.data import make_random_labels
from hw1.runlog import logged

if __name__ == "__main__":
    logged(snakemake.log[0], make_random_labels, 60000, snakemake.params.seed, snakemake.output[0])
