"""Snakemake job: verify (or fetch) the files of one image data set and cache them as one
tensor file.

Where the files come from (``data.root``, ``data.data_dir``, ``data.download``) is read from
the config, not passed as rule params: the files are verified by checksum, so the cache is
the same whichever source supplied them, and changing the source must rerun nothing.
"""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's hw1, in any env
from hw1.data import prepare
from hw1.runlog import logged

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
