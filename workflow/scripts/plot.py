"""Snakemake job: draw one figure (PNG and PDF) from its table."""

import sys
from pathlib import Path

# the package of this checkout, whatever the environment (conda jobs get no PYTHONPATH)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from hw1.figures import render
from hw1.runlog import logged

if __name__ == "__main__":
    logged(
        snakemake.log[0],
        render,
        snakemake.params.figure,
        snakemake.input.table,
        snakemake.output.png,
        snakemake.output.pdf,
        snakemake.params.style,
    )
