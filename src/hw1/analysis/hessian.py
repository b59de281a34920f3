"""Hessians, Hessian-vector products and the "minimal ratio" experiment (HW1 part 1-2).

The minimal-ratio experiment trains a small network in two phases: first on its loss ``L``,
then on ``½‖∇L(θ)‖²`` so that it lands near a critical point (``‖∇L‖ < threshold``). At that
point the share of positive Hessian eigenvalues (the *minimal ratio*) tells how close the
critical point is to a local minimum (ratio 1) or how saddle-like it is.

Conventions:

* ``hessian_matrix`` and ``hvp`` take ``f(theta) -> scalar`` of one flat vector.
* ``minimize_grad_norm`` and ``minimal_ratio_table`` take ``f(theta, x, y) -> scalar``, as
  returned by :func:`hw1.models.flat_loss_fn`, and one shared data set ``(x, y)``.
* Everything is computed in float64: the Hessian of a small network in float32 has eigenvalue
  noise of order 1e-6 times its scale, which would blur the sign of the near-zero eigenvalues
  that the minimal ratio counts. ``f`` must therefore accept float64 parameters (a module
  called through ``functional_call`` does; data captured in a closure must be float64 too).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch import Tensor
from torch.func import grad, grad_and_value, hessian, vjp, vmap

from hw1.analysis.columns import HESSIAN_COLUMNS
from hw1.runlog import Progress

log = logging.getLogger("hw1.analysis.hessian")

ScalarFn = Callable[[Tensor], Tensor]
DataLossFn = Callable[[Tensor, Tensor, Tensor], Tensor]


def hessian_matrix(loss_fn: ScalarFn, theta: Tensor) -> Tensor:
    """Exact Hessian ``[P, P]`` of ``loss_fn`` at the flat vector ``theta``, in float64.

    ``theta`` is converted to float64 before differentiating (forward-over-reverse,
    ``torch.func.hessian``); the result is symmetrised, ``(H + Hᵀ)/2``, so that round-off
    asymmetry cannot produce complex eigenvalues and ``eigvalsh`` sees exactly what it
    assumes.
    """
    if theta.dim() != 1:
        raise ValueError(f"theta must be a flat vector, got shape {tuple(theta.shape)}")
    theta64 = theta.detach().to(torch.float64)
    h = hessian(loss_fn)(theta64).detach()
    return 0.5 * (h + h.T)


def hvp(loss_fn: ScalarFn, theta: Tensor, v: Tensor) -> Tensor:
    """Hessian-vector product ``H(theta) @ v`` without forming ``H``.

    Double backprop: the vector-Jacobian product of ``∇f`` with ``v`` is ``Hᵀv = Hv``
    (reverse-over-reverse; forward-over-reverse ``jvp`` fails on some losses, e.g. MSE, in
    this torch version).
    """
    _, vjp_fn = vjp(grad(loss_fn), theta)
    (out,) = vjp_fn(v.to(theta.dtype))
    return out


def curvature_tolerance(
    eigenvalues: Tensor | Sequence[float], grad_norm: float, rtol: float, atol: float = 0.0
) -> float:
    """The magnitude below which a Hessian eigenvalue counts as zero at one point:
    ``max(atol, rtol · max|λ|, ‖∇L‖)``.

    Why: a fixed absolute cut (the homework's usual 1e-6) decides the ratio by itself, since
    the spectrum of an over-parameterised net has no gap between "zero" and "positive". The
    cut here scales with the spectrum (``rtol`` of the largest curvature: below it a direction
    is flat relative to the sharpest one) and with the residual gradient (the point is a
    critical point only to within ``‖∇L‖``; curvature smaller than that is not resolved
    there). Multiplying the loss by a constant multiplies every eigenvalue and the gradient
    by it and leaves the counts unchanged (a test checks this).
    """
    ev = torch.as_tensor(eigenvalues, dtype=torch.float64)
    return max(float(atol), float(rtol) * float(ev.abs().max()), float(grad_norm))


@dataclass(frozen=True)
class MinimalRatio:
    """Counts of a Hessian spectrum: ``ratio = n_positive / n`` with ``n_positive`` the
    eigenvalues ``> tol``, ``n_negative`` those ``< -tol`` and ``n_near_zero`` those with
    ``|λ| <= tol`` (the three counts add up to ``n``)."""

    ratio: float
    n_positive: int
    n_negative: int
    n_near_zero: int
    n: int

    @property
    def ratio_nonzero(self) -> float:
        """Share positive among the clearly non-zero eigenvalues (NaN if there are none)."""
        k = self.n_positive + self.n_negative
        return self.n_positive / k if k else float("nan")


def minimal_ratio(eigenvalues: Tensor | Sequence[float], tol: float) -> MinimalRatio:
    """Share of eigenvalues that are positive beyond ``tol`` (the HW1 "minimal ratio").

    ``tol`` separates numerically-zero curvature (flat directions, common in
    over-parameterised nets) from genuine positive curvature.
    """
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    ev = torch.as_tensor(eigenvalues, dtype=torch.float64).reshape(-1)
    n = int(ev.numel())
    if n == 0:
        raise ValueError("no eigenvalues given")
    n_pos = int((ev > tol).sum())
    n_neg = int((ev < -tol).sum())
    n_zero = int((ev.abs() <= tol).sum())
    return MinimalRatio(n_pos / n, n_pos, n_neg, n_zero, n)


def grad_norm_objective(loss_fn: DataLossFn) -> DataLossFn:
    """Return ``φ(theta, x, y) = ½‖∇θ L(theta, x, y)‖²``; its gradient is ``H·∇L``.

    Differentiating ``φ`` back-propagates through the gradient of ``L`` (double backprop),
    which is what makes phase 2 of the experiment seek critical points of ``L``.
    """

    def phi(theta: Tensor, x: Tensor, y: Tensor) -> Tensor:
        g = grad(loss_fn)(theta, x, y)
        return 0.5 * (g * g).sum()

    return phi


def grad_norm_gradient(
    loss_fn: DataLossFn, thetas: Tensor, x: Tensor, y: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """For stacked runs ``thetas [R, P]`` return ``(∇φ [R, P], L [R], ‖∇L‖ [R])``.

    ``∇φ = H·∇L`` comes from double backprop of ``φ = ½‖∇L‖²``; all runs are evaluated at
    once with ``vmap`` over the leading dimension (the data are shared).
    """

    def phi_aux(theta: Tensor, x: Tensor, y: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        g, loss = grad_and_value(loss_fn)(theta, x, y)
        return 0.5 * (g * g).sum(), (loss, g)

    gphi, (loss, g) = vmap(grad(phi_aux, has_aux=True), in_dims=(0, None, None))(thetas, x, y)
    return gphi.detach(), loss.detach(), torch.linalg.vector_norm(g.detach(), dim=-1)


BatchedLossFn = Callable[[Tensor, Tensor, Tensor], Tensor]


def stacked_grad_norm_gradient(
    batched_loss: BatchedLossFn, thetas: Tensor, x: Tensor, y: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`grad_norm_gradient` for a loss that evaluates all runs at once:
    ``batched_loss(thetas [R, P], x, y) -> [R]`` (each run's loss depends only on its own
    row, e.g. a stacked ensemble's forward). Double backprop through one batched graph
    instead of ``vmap`` over ``functional_call``: ~5x faster for the minimal-ratio nets."""
    with torch.enable_grad():
        th = thetas.detach().requires_grad_()
        loss = batched_loss(th, x, y)
        (g,) = torch.autograd.grad(loss.sum(), th, create_graph=True)
        (gphi,) = torch.autograd.grad(0.5 * (g * g).sum(), th)
    return gphi.detach(), loss.detach(), torch.linalg.vector_norm(g.detach(), dim=-1)


def stacked_hessians(batched_loss: BatchedLossFn, thetas: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """Exact Hessians ``[R, P, P]`` of every run's loss, symmetrised as in
    :func:`hessian_matrix`: one graph of all runs' gradients, then P backward passes (one
    per parameter, all runs at once)."""
    with torch.enable_grad():
        th = thetas.detach().requires_grad_()
        (g,) = torch.autograd.grad(batched_loss(th, x, y).sum(), th, create_graph=True)
        progress = Progress(
            f"Hessians of {th.shape[0]} runs, columns", th.shape[1], logger=log, interval=30.0
        )
        cols = []
        for j in range(th.shape[1]):
            cols.append(torch.autograd.grad(g[:, j].sum(), th, retain_graph=j < th.shape[1] - 1)[0])
            progress.update(j + 1)
    h = torch.stack(cols, 1).detach()
    return 0.5 * (h + h.transpose(1, 2))


@dataclass(frozen=True)
class GradNormResult:
    """Outcome of :func:`minimize_grad_norm`, one entry per run (nothing dropped).

    ``loss`` and ``grad_norm`` are evaluated at the returned ``theta``; ``steps`` counts the
    parameter updates each run received; ``converged`` is ``grad_norm < threshold``.
    """

    theta: Tensor
    loss: Tensor
    grad_norm: Tensor
    steps: Tensor
    converged: Tensor


def _as_data(t: Tensor, dtype: torch.dtype) -> Tensor:
    return t.to(dtype) if torch.is_floating_point(t) else t


def minimize_grad_norm(
    loss_fn: DataLossFn,
    thetas: Tensor,
    x: Tensor,
    y: Tensor,
    *,
    threshold: float,
    max_steps: int,
    lr: float,
    optimizer: str = "adam",
    momentum: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    dtype: torch.dtype = torch.float64,
    batched_loss: BatchedLossFn | None = None,
) -> GradNormResult:
    """Phase 2 of the minimal-ratio experiment: minimise ``½‖∇L‖²`` for R runs at once.

    ``thetas`` is ``[R, P]`` (cast to ``dtype``, float64 by default; floating data are cast
    too). Every step evaluates all runs with :func:`grad_norm_gradient`; a run whose
    ``‖∇L‖ < threshold`` is frozen from then on (its parameters and optimiser state are
    masked), and the loop ends when every run is frozen or after ``max_steps`` updates.
    ``optimizer`` is ``'adam'`` (per-run bias correction, ``betas``, ``eps``) or ``'sgd'``
    (optional heavy-ball ``momentum``). With ``batched_loss`` (all runs' losses at once,
    see :func:`stacked_grad_norm_gradient`) the gradients come from one batched graph.
    """
    if thetas.dim() != 2:
        raise ValueError(f"thetas must be [runs, params], got shape {tuple(thetas.shape)}")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"unknown optimizer {optimizer!r}; allowed: ['adam', 'sgd']")
    if max_steps < 0:
        raise ValueError(f"max_steps must be >= 0, got {max_steps}")
    theta = thetas.detach().to(dtype).clone()
    x, y = _as_data(x, dtype), _as_data(y, dtype)
    n_runs = theta.shape[0]
    dev = theta.device
    steps = torch.zeros(n_runs, dtype=torch.long, device=dev)
    active = torch.ones(n_runs, dtype=torch.bool, device=dev)
    loss = torch.full((n_runs,), float("nan"), dtype=dtype, device=dev)
    gnorm = torch.full_like(loss, float("nan"))
    m = torch.zeros_like(theta)  # Adam first moment / SGD momentum buffer
    v = torch.zeros_like(theta)  # Adam second moment
    b1, b2 = betas

    def gradient(th: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        if batched_loss is not None:
            return stacked_grad_norm_gradient(batched_loss, th, x, y)
        return grad_norm_gradient(loss_fn, th, x, y)

    step = 0
    progress = Progress("phase 2 (minimise ½‖∇L‖²) steps, at most", max_steps, logger=log)
    while True:
        # only the runs still moving are evaluated: a frozen run keeps its last values
        rows = active.nonzero().squeeze(1)
        progress.update(step, f"{len(rows)} of {n_runs} runs still above the threshold")
        gphi, loss_r, gnorm_r = gradient(theta[rows])
        loss[rows], gnorm[rows] = loss_r, gnorm_r
        done = gnorm_r < threshold
        active[rows[done]] = False
        if step == max_steps or not bool(active.any()):
            break
        rows, gphi = rows[~done], gphi[~done]
        if optimizer == "adam":
            t = (steps[rows] + 1).to(dtype)[:, None]
            m[rows] = b1 * m[rows] + (1 - b1) * gphi
            v[rows] = b2 * v[rows] + (1 - b2) * gphi * gphi
            m_hat = m[rows] / (1 - b1**t)
            v_hat = v[rows] / (1 - b2**t)
            theta[rows] = theta[rows] - lr * m_hat / (v_hat.sqrt() + eps)
        else:
            m[rows] = momentum * m[rows] + gphi if momentum else gphi
            theta[rows] = theta[rows] - lr * m[rows]
        steps[rows] += 1
        step += 1
    return GradNormResult(theta, loss, gnorm, steps, gnorm < threshold)


def minimal_ratio_table(
    loss_fn: DataLossFn,
    thetas: Tensor,
    x: Tensor,
    y: Tensor,
    *,
    threshold: float,
    max_steps: int,
    lr: float,
    tol: float = 0.0,
    rtol: float = 1e-6,
    runs: Sequence[int] | None = None,
    **optim_kwargs,
) -> pd.DataFrame:
    """Run :func:`minimize_grad_norm`, then the Hessian spectrum of ``L`` at each final point.

    One row per input run, whether it converged or not (``converged`` says which), with the
    columns of :data:`~hw1.analysis.columns.HESSIAN_COLUMNS`: the run's loss and gradient
    norm, its tolerance
    ``tol`` = :func:`curvature_tolerance` (``tol`` here is its absolute floor, ``rtol`` its
    share of the largest |λ|), the counts above / below / within it, the minimal ratio (share
    of ALL eigenvalues that are positive beyond the tolerance, the homework's definition),
    ``ratio_nonzero`` (share positive among the clearly non-zero ones) and every eigenvalue
    (ascending), so the figure can redraw any tolerance without recomputation. ``runs``
    labels the rows (default ``0..R-1``); ``optim_kwargs`` go to :func:`minimize_grad_norm`.
    Hessians are float64, eigenvalues from ``eigvalsh``.
    """
    res = minimize_grad_norm(
        loss_fn, thetas, x, y, threshold=threshold, max_steps=max_steps, lr=lr, **optim_kwargs
    )
    run_ids = list(range(thetas.shape[0])) if runs is None else [int(r) for r in runs]
    if len(run_ids) != thetas.shape[0]:
        raise ValueError(f"{len(run_ids)} run labels for {thetas.shape[0]} runs")
    x64 = _as_data(x, torch.float64)
    y64 = _as_data(y, torch.float64)
    batched = optim_kwargs.get("batched_loss")
    if batched is not None:
        eigs = torch.linalg.eigvalsh(stacked_hessians(batched, res.theta, x64, y64))
    else:
        eigs = torch.stack(
            [
                torch.linalg.eigvalsh(hessian_matrix(lambda th: loss_fn(th, x64, y64), t))
                for t in res.theta
            ]
        )
    rows = []
    for i, run in enumerate(run_ids):
        tau = curvature_tolerance(eigs[i], float(res.grad_norm[i]), rtol, tol)
        mr = minimal_ratio(eigs[i], tau)
        rows.append(
            {
                "run": run,
                "loss": float(res.loss[i]),
                "grad_norm": float(res.grad_norm[i]),
                "minimal_ratio": mr.ratio,
                "ratio_nonzero": mr.ratio_nonzero,
                "n_positive": mr.n_positive,
                "n_negative": mr.n_negative,
                "n_near_zero": mr.n_near_zero,
                "n_params": mr.n,
                "tol": tau,
                "converged": bool(res.converged[i]),
                "steps": int(res.steps[i]),
                "eigenvalues": eigs[i].cpu().numpy().astype("float64"),
            }
        )
    df = pd.DataFrame(rows, columns=HESSIAN_COLUMNS)
    ints = ["run", "n_positive", "n_negative", "n_near_zero", "n_params", "steps"]
    return df.astype(dict.fromkeys(ints, "int64") | {"converged": "bool"})
