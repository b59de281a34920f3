"""Snakemake job: the reStructuredText caption of one figure, from its table."""

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
