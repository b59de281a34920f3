"""The papers' numbers the report sets beside ours: each read from the paper's text (the
quotes and where they were read are in ``docs/papers.md``), never recalled.

Torch-free data: figures, summaries and the report read it; a number the stored texts do
not hold is not here (the report says so where it would stand).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reported:
    """A mean ± sd a paper reports, and where."""

    mean: float
    sd: float
    where: str  # table / section of the paper


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
