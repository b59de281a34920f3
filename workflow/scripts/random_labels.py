"""Snakemake job: draw the fixed random training labels of one image data set."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's hw1, in any env
from hw1.data import random_labels_for
from hw1.runlog import logged

p = snakemake.params
logged(snakemake.log[0], random_labels_for, p.dataset, p.seed, snakemake.output[0])
