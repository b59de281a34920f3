"""Snakemake job: the reStructuredText caption of one figure, from its table."""

import sys
from pathlib import Path

# the package of this checkout, whatever the environment (conda jobs get no PYTHONPATH)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from hw1.report import write_caption
from hw1.runlog import logged

if __name__ == "__main__":
    logged(
        snakemake.log[0],
        write_caption,
        snakemake.wildcards.figure,
        snakemake.input.table,
        snakemake.params.config,
        snakemake.output[0],
    )
