"""Snakemake job: a Part 1-3 table that evaluates trained weights (interpolation, flatness)."""

from hw1.runlog import logged
from hw1.tables.part1_3 import analysis_job

if __name__ == "__main__":
    logged(
        snakemake.log[0],
        analysis_job,
        snakemake.params.name,
        {k: list(v) if not isinstance(v, str) else [v] for k, v in snakemake.input.items()},
        list(snakemake.output),
        dict(snakemake.params.items()),
        snakemake.threads,
    )
