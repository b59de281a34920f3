"""Snakemake job: verify (or fetch) the files of one image data set and cache them as one
tensor file.

Where the files come from (``data.root``, ``data.data_dir``, ``data.download``) is read from
the config, not passed as rule params: the files are verified by checksum, so the cache is
the same whichever source supplied them, and changing the source must rerun nothing.
"""

import sys
from pathlib import Path

# the package of this checkout, whatever the environment (conda jobs get no PYTHONPATH)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from hw1.data import prepare
from hw1.runlog import logged

if __name__ == "__main__":
    d = snakemake.config["data"]
    logged(
        snakemake.log[0],
        prepare,
        snakemake.params.dataset,
        d["root"],
        d["data_dir"],
        d["download"],
        snakemake.output[0],
    )
