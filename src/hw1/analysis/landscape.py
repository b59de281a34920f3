"""Loss landscapes: filter-normalised random directions and 2-D loss surfaces.

Follows Li et al. (2018), "Visualizing the Loss Landscape of Neural Nets": a surface
``L(θ0 + a·d1 + b·d2)`` along random directions is only comparable between networks (and
between scale-invariant re-parameterisations of one network) when each filter of the
direction has the norm of the matching filter of the weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.func import vmap

FILTER_EPS = 1e-10  # as in Li et al.'s reference code, guards a zero random filter


def filter_normalized_direction(
    params: Mapping[str, Tensor], generator: torch.Generator
) -> dict[str, Tensor]:
    """Random Gaussian direction, filter-normalised like ``params``.

    For a parameter with ``dim >= 2`` every filter (a slice along dim 0: a Linear output unit
    or a conv output channel) is rescaled to the norm of the same filter of the weights,
    ``d_i ← d_i / ‖d_i‖ · ‖θ_i‖``. 1-D parameters (biases, norm scales) get a zero direction:
    Li et al.'s "ignore biases" choice, so the plot shows no movement they cannot normalise.
    Draws come from ``generator`` in ``params`` order, hence reproducible.
    """
    out: dict[str, Tensor] = {}
    for name, p in params.items():
        w = p.detach()
        d = torch.randn(w.shape, generator=generator, dtype=w.dtype, device=generator.device)
        d = d.to(w.device)
        if w.dim() >= 2:
            w_norm = torch.linalg.vector_norm(w.reshape(w.shape[0], -1), dim=1)
            d_norm = torch.linalg.vector_norm(d.reshape(d.shape[0], -1), dim=1)
            scale = (w_norm / (d_norm + FILTER_EPS)).reshape(-1, *([1] * (w.dim() - 1)))
            out[name] = d * scale
        else:
            out[name] = torch.zeros_like(w)
    return out


def surface_2d(
    loss_fn_flat: Callable[[Tensor], Tensor],
    theta0: Tensor,
    d1: Tensor,
    d2: Tensor,
    alphas: Sequence[float] | np.ndarray,
    betas: Sequence[float] | np.ndarray,
    *,
    vectorize: bool = True,
) -> np.ndarray:
    """Loss ``[len(alphas), len(betas)]`` at ``theta0 + a·d1 + b·d2`` for every ``(a, b)``.

    ``loss_fn_flat`` maps a flat vector to a scalar (e.g. ``lambda t: f(t, x, y)`` for
    ``f = flat_loss_fn(model)``). One row of ``betas`` is evaluated at once with ``vmap``;
    pass ``vectorize=False`` for losses that do not support it.
    """
    theta0, d1, d2 = theta0.detach(), d1.detach().to(theta0), d2.detach().to(theta0)
    a = torch.as_tensor(np.asarray(alphas, dtype=np.float64), dtype=theta0.dtype)
    b = torch.as_tensor(np.asarray(betas, dtype=np.float64), dtype=theta0.dtype)
    out = np.empty((len(a), len(b)), dtype=np.float64)
    batched = vmap(loss_fn_flat)
    with torch.no_grad():
        for i, ai in enumerate(a):
            points = theta0 + ai * d1 + b[:, None] * d2
            if vectorize:
                out[i] = batched(points).double().cpu().numpy()
            else:
                out[i] = [float(loss_fn_flat(pt)) for pt in points]
    return out


@dataclass(frozen=True)
class PlaneGrid:
    """A grid on the plane ``center + c1·d1 + c2·d2``.

    ``c1`` and ``c2`` are the grid coordinates; :meth:`points` materialises the parameter
    vectors, and ``surface_2d(f, g.center, g.d1, g.d2, g.c1, g.c2)`` evaluates the loss on
    the grid without materialising them.
    """

    center: Tensor
    d1: Tensor
    d2: Tensor
    c1: np.ndarray
    c2: np.ndarray

    def points(self) -> Tensor:
        """Parameter vectors ``[len(c1), len(c2), P]`` of the grid."""
        c1 = torch.as_tensor(self.c1, dtype=self.center.dtype)
        c2 = torch.as_tensor(self.c2, dtype=self.center.dtype)
        return self.center + c1[:, None, None] * self.d1 + c2[None, :, None] * self.d2


def pca_plane_grid(
    center: np.ndarray | Tensor,
    components: np.ndarray | Tensor,
    coords_range: tuple[tuple[float, float], tuple[float, float]],
    n: int,
) -> PlaneGrid:
    """Map an ``n × n`` grid of PCA-plane coordinates back to parameter space.

    ``center`` is sklearn's ``pca.mean_`` ``[P]`` and ``components`` its ``components_``
    ``[2, P]`` (see :func:`hw1.analysis.pca.fit_pca_plane`; only a whole-model PCA spans
    the full parameter space). Point ``(c1, c2)`` is ``mean + c1·v1 + c2·v2``, the inverse of
    the PCA projection on the plane, so trajectory coordinates ``(pc1, pc2)`` and the grid
    share axes. ``coords_range = ((c1_min, c1_max), (c2_min, c2_max))``.
    """
    mean = torch.as_tensor(np.asarray(center, dtype=np.float64))
    comps = torch.as_tensor(np.asarray(components, dtype=np.float64))
    if mean.dim() != 1 or comps.shape != (2, mean.shape[0]):
        raise ValueError(
            f"need center [P] and components [2, P], got {tuple(mean.shape)}, {tuple(comps.shape)}"
        )
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    (lo1, hi1), (lo2, hi2) = coords_range
    return PlaneGrid(
        center=mean,
        d1=comps[0],
        d2=comps[1],
        c1=np.linspace(lo1, hi1, n),
        c2=np.linspace(lo2, hi2, n),
    )
