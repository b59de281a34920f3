"""Input sensitivity of a classifier (HW1 part 3, "flatness vs generalization, part 2").

The sensitivity of a network at an example ``x_i`` is the Frobenius norm of the Jacobian of
its softmax output (the ``C`` class probabilities) with respect to the *input* ``x_i``:
``||d softmax(f(x_i)) / d x_i||_F``. The figure shows this norm computed per test example and
averaged over the test set (:func:`mean_sensitivity`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

Forward = Callable[[Tensor], Tensor]


def jacobian_frobenius(forward: Forward, x: Tensor, *, chunk: int = 256) -> Tensor:
    """Per-example Frobenius norm of the Jacobian of ``softmax(forward(x_i))`` w.r.t. ``x_i``.

    ``forward`` maps a batch ``[B, ...]`` to logits ``[B, C]``; ``x`` is ``[N, ...]``. Returns a
    detached tensor ``[N]``.

    The Jacobian rows are obtained with ``C`` backward passes per chunk: the gradient of
    ``sum_i p_ic`` w.r.t. the chunk is, for every example ``i``, row ``c`` of that example's own
    Jacobian. This is exact only if ``forward`` treats the examples of a batch independently
    (put the network in eval mode: no batch-norm statistics of the batch, no dropout); under
    that assumption the result does not depend on ``chunk``. Gradients w.r.t. the network's
    parameters are not computed.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if x.dim() < 2:
        raise ValueError(f"x needs a batch dimension [N, ...], got shape {tuple(x.shape)}")
    norms: list[Tensor] = []
    with torch.enable_grad():
        for start in range(0, x.shape[0], chunk):
            xb = x[start : start + chunk].detach().clone()
            if xb.dim() == 4:  # images: channels-last convolutions run ~2x faster on the CPU
                xb = xb.contiguous(memory_format=torch.channels_last)
            xb.requires_grad_(True)
            logits = forward(xb)
            if logits.dim() != 2 or logits.shape[0] != xb.shape[0]:
                raise ValueError(
                    f"forward must return logits [B, C], got {tuple(logits.shape)} "
                    f"for a batch of {xb.shape[0]}"
                )
            probs = torch.softmax(logits, dim=-1)
            n_cls = probs.shape[1]
            sq = torch.zeros(xb.shape[0], dtype=xb.dtype, device=xb.device)
            for c in range(n_cls):
                (row,) = torch.autograd.grad(
                    probs[:, c].sum(), xb, retain_graph=c < n_cls - 1, allow_unused=False
                )
                sq += row.reshape(xb.shape[0], -1).pow(2).sum(dim=1)
            norms.append(sq.sqrt().detach())
    return torch.cat(norms)


def mean_sensitivity(forward: Forward, x: Tensor, chunk: int = 256) -> float:
    """Mean over the examples of ``x`` of :func:`jacobian_frobenius` (the plotted quantity)."""
    return float(jacobian_frobenius(forward, x, chunk=chunk).mean().item())
