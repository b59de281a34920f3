"""The papers' numbers the report sets beside ours: each read from the paper's text (the
quotes and where they were read are in ``docs/papers.md``), never recalled.

Torch-free data: figures, summaries and the report read it; a number the stored texts do
not hold is not here (the report says so where it would stand).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Reported:
    """A mean ± sd a paper reports, and where."""

    mean: float
    sd: float  # NaN where the paper gives none
    where: str  # table / section of the paper


@dataclass(frozen=True)
class Quote:
    """A sentence of a paper, word for word, where it stands and where our copy was read."""

    text: str
    where: str  # section of the paper
    read: str  # the stored copy (docs/papers.md names it)


KESKAR = (
    "Keskar, Mudigere, Nocedal, Smelyanskiy & Tang, On Large-Batch Training for Deep "
    "Learning: Generalization Gap and Sharp Minima, ICLR 2017 (arXiv:1609.04836)"
)
# The protocol of Tables 2-4 (§2.2, §2.2.2; docs/papers.md §1).
KESKAR_PROTOCOL = (
    "small batch (SB) 256, large batch (LB) 10% of the training set, ADAM for both, trained "
    '"until the loss function ceased to improve", 5 runs from random starting points; '
    "sharpness (Metric 2.1) maximised by 10 iterations of L-BFGS-B at ε = 1e-3 and 5e-4, in "
    "the full space (A = I) and in random subspaces of dimension 100"
)
# Network F1 (fully connected) and the data set it was trained on (Table 1; a registry name):
# its layers are given only in the paper's Appendix B.1, which no stored copy holds
# (docs/papers.md §1, "Network configurations").
KESKAR_F1_DATASET = "mnist"
KESKAR_F1_ARCHITECTURE = None

# Network F1's rows of Tables 2-4, percent; keys: regime ("SB"/"LB"), and ε for the
# sharpness tables.
KESKAR_F1_ACCURACY = {
    "train": {
        "SB": Reported(99.66, 0.05, "Table 2"),
        "LB": Reported(99.92, 0.01, "Table 2"),
    },
    "test": {
        "SB": Reported(98.03, 0.07, "Table 2"),
        "LB": Reported(97.81, 0.07, "Table 2"),
    },
}
KESKAR_F1_SHARPNESS = {
    "full": {
        1e-3: {"SB": Reported(1.23, 0.83, "Table 3"), "LB": Reported(205.14, 69.52, "Table 3")},
        5e-4: {"SB": Reported(0.61, 0.27, "Table 3"), "LB": Reported(42.90, 17.14, "Table 3")},
    },
    "subspace": {
        1e-3: {"SB": Reported(0.11, 0.00, "Table 4"), "LB": Reported(9.22, 0.56, "Table 4")},
        5e-4: {"SB": Reported(0.05, 0.00, "Table 4"), "LB": Reported(9.17, 0.14, "Table 4")},
    },
}
KESKAR_SUBSPACE_DIM = 100  # §2.2.2: "p = 100"
KESKAR_LBFGSB_ITERATIONS = 10  # §2.2.2: "10 iterations of L-BFGS-B"

# Where our copy of Keskar et al. was read (the report's Findings cite it).
KESKAR_READ = (
    "docs/papers.md §1: a Markdown conversion of the main body, no appendices (GitHub file "
    "id 62015665084)"
)

# ----------------------------------------------------------------------------- the course
COURSE = "MLDS 2018 (NTU, Hung-yi Lee), HW1"
# The course's slides are not stored (docs/papers.md §7): the homework's claims carry no number.
COURSE_READ = "the slides are not stored (docs/papers.md §7)"
# HW1 1-2-3, as a student repository lists the task (victoresque/MLDS2018SPRING, hw1/README.md;
# secondary, docs/papers.md §7); the expected shape of its plot is not in any stored text.
COURSE_MINIMAL_RATIO_TASK = "1-2-3 What happens when gradient is almost zero"
COURSE_MINIMAL_RATIO_RESULT = None

# ----------------------------------------------------------------------------- Zhang et al.
ZHANG = (
    "Zhang, Bengio, Hardt, Recht & Vinyals, Understanding deep learning requires rethinking "
    "generalization, ICLR 2017 (arXiv:1611.03530)"
)
ZHANG_READ = (
    "docs/papers.md §2: the main text §0-§6 with a Chinese translation, no tables or figure "
    "captions (GitHub file id 38422493608)"
)
ZHANG_TIME = Quote(
    "Even optimization on random labels remains easy. In fact, training time increases only "
    "by a small constant factor compared with training on the true labels.",
    "§1.1",
    ZHANG_READ,
)
# The factor itself: Figure 1b (relative convergence time) is an image, no number is stored.
ZHANG_TIME_FACTOR = None
ZHANG_FIT = Quote("c) it converges to (over)fit the training set perfectly.", "§2.1", ZHANG_READ)
ZHANG_CHANCE = Quote(
    "As the noise level approaches 1, the generalization errors converge to 90% — the "
    "performance of random guessing on CIFAR10.",
    "§2.1",
    ZHANG_READ,
)
# Table 1, MLP 1x512 on CIFAR10 fitting random labels, percent: secondary, transcribed from
# a lecture slide's screenshot of the table (GitHub file id 71135618960; docs/papers.md §2).
ZHANG_MLP_1X512_RANDOM = {
    "train": Reported(99.34, math.nan, "Table 1, a secondary slide transcription"),
    "test": Reported(10.61, math.nan, "Table 1, a secondary slide transcription"),
}
ZHANG_MLP_1X512_DATASET = "CIFAR10"

# ----------------------------------------------------------------------------- Novak et al.
NOVAK = (
    "Novak, Bahri, Abolafia, Pennington & Sohl-Dickstein, Sensitivity and Generalization in "
    "Neural Networks: an Empirical Study, ICLR 2018 (arXiv:1802.08760)"
)
NOVAK_READ = "docs/papers.md §3: the abstract (ar5iv); the body was not reachable"
NOVAK_JACOBIAN = Quote(
    "We find that trained neural networks are more robust to input perturbations in the "
    "vicinity of the training data manifold, as measured by the norm of the input-output "
    "Jacobian of the network, and that it correlates well with generalization.",
    "abstract",
    NOVAK_READ,
)
NOVAK_CORRELATION = None  # no correlation value is in the stored text

# ----------------------------------------------------------------------------- Li et al.
LI = (
    "Li, Xu, Taylor, Studer & Goldstein, Visualizing the Loss Landscape of Neural Nets, "
    "NeurIPS 2018 (arXiv:1712.09913)"
)
# Secondary only: a paraphrased claim list with the arXiv version's page (GitHub file id
# 68582953298; docs/papers.md §4); the paper's own §7 sentence and figure are not stored.
LI_TRAJECTORY = Quote(
    "Between 40% and 90% of the variation in the descent paths lies in a space of only 2 "
    "dimensions.",
    "§7, arXiv p. 11 (a secondary paraphrase)",
    "docs/papers.md §4: a paraphrased claim list (GitHub file id 68582953298)",
)
LI_TRAJECTORY_SHARE = (0.40, 0.90)  # the range of that sentence, as shares

# ----------------------------------------------------------------------------- Antognini
ANTOGNINI = (
    "Antognini & Sohl-Dickstein, PCA of high dimensional random walks with comparison to "
    "neural network training, NeurIPS 2018"
)
# The first component's share of a random walk's variance in the long-walk, high-dimensional
# limit: 6/π², as the first author's demo notebook predicts it (secondary; docs/papers.md §5).
ANTOGNINI_PC1_LIMIT = Reported(
    6 / math.pi**2, math.nan, "the first author's demo notebook (secondary)"
)
