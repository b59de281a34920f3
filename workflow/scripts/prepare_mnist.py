"""Snakemake job: verify (or fetch) the four MNIST files and cache them as one tensor file.

Where the files come from (``data.mnist_root``, ``data.data_dir``, ``data.download``) is read
from the config, not passed as rule params: the files are MD5-verified, so the cache is the
same whichever source supplied them, and changing the source must rerun nothing.
"""

import sys
from pathlib import Path

# the package of this checkout, whatever the environment (conda jobs get no PYTHONPATH)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from hw1.data import prepare_mnist
from hw1.runlog import logged

if __name__ == "__main__":
    d = snakemake.config["data"]
    logged(
        snakemake.log[0],
        prepare_mnist,
        d["mnist_root"],
        d["data_dir"],
        d["download"],
        snakemake.output[0],
    )
