"""Linear interpolation between two trained models (HW1 part 3, "flatness vs generalization").

``θ(α) = (1 − α) θ1 + α θ2`` is evaluated on the full train and test sets for α on a grid that
usually extends beyond ``[0, 1]``; α = 0 and α = 1 must be the two trained models themselves,
so the grid contains them exactly and :func:`interpolate` returns them bit-exactly there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import pandas as pd
import torch
from torch import Tensor

Evaluate = Callable[[Tensor], Mapping[str, tuple[float, float]]]


def interpolate(theta1: Tensor, theta2: Tensor, alpha: float) -> Tensor:
    """``(1 − α) θ1 + α θ2``; a copy of ``θ1`` at α = 0 and of ``θ2`` at α = 1 (bit-exact)."""
    if theta1.shape != theta2.shape:
        raise ValueError(f"shapes differ: {tuple(theta1.shape)} vs {tuple(theta2.shape)}")
    a = float(alpha)
    if a == 0.0:
        return theta1.detach().clone()
    if a == 1.0:
        return theta2.detach().clone()
    return ((1.0 - a) * theta1 + a * theta2).detach()


def interpolation_table(
    evaluate: Evaluate, theta1: Tensor, theta2: Tensor, alphas: Iterable[float]
) -> pd.DataFrame:
    """Evaluate ``θ(α)`` for every α: tidy table with columns alpha, split, loss, accuracy.

    ``evaluate(theta)`` returns ``{split: (loss, accuracy)}`` on the full sets (normally the
    splits ``'train'`` and ``'test'``); every α must yield the same splits. One row per
    α × split, in the order of ``alphas`` then of the splits.
    """
    rows: list[dict] = []
    splits: list[str] | None = None
    with torch.no_grad():
        for alpha in alphas:
            a = float(alpha)
            metrics = evaluate(interpolate(theta1, theta2, a))
            names = list(metrics)
            if not names:
                raise ValueError("evaluate returned no split")
            if splits is None:
                splits = names
            elif sorted(names) != sorted(splits):
                raise ValueError(f"evaluate returned splits {names} at α={a}, before {splits}")
            for split in splits:
                loss, acc = metrics[split]
                rows.append(
                    {"alpha": a, "split": split, "loss": float(loss), "accuracy": float(acc)}
                )
    return pd.DataFrame(rows, columns=["alpha", "split", "loss", "accuracy"])
