"""Snakemake job: build one figure's tidy table from run files."""

from hw1.runlog import logged
from hw1.tables import build_table

if __name__ == "__main__":
    logged(
        snakemake.log[0],
        build_table,
        snakemake.params.name,
        {k: list(v) if not isinstance(v, str) else [v] for k, v in snakemake.input.items()},
        snakemake.output[0],
        dict(snakemake.params.items()),
    )
