"""Snakemake job: verify (or fetch) the four MNIST files and cache them as one tensor file."""

from hw1.data import prepare_mnist
from hw1.runlog import logged

if __name__ == "__main__":
    p = snakemake.params
    logged(snakemake.log[0], prepare_mnist, p.root, p.data_dir, p.download, snakemake.output[0])
