"""Flatness / generalization analyses checked against independent computations."""

from __future__ import annotations

import itertools
import math
import struct
from itertools import pairwise

import numpy as np
import pytest
import torch
from torch import nn

from hw1.analysis.interpolation import interpolate, interpolation_table
from hw1.analysis.sensitivity import jacobian_frobenius, mean_sensitivity
from hw1.analysis.sharpness import (
    eps_sharpness,
    eps_sharpness_curve,
    keskar_sharpness,
    top_hessian_eigenvalue,
)
from hw1.architectures import ModelSpec
from hw1.grids import alpha_grid
from hw1.models import ParamLayout, build_model, flat_forward_fn, flat_loss_fn, flatten

DT = torch.float64


def _net(spec: ModelSpec, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(spec).to(DT).eval()


def _theta(model: nn.Module) -> torch.Tensor:
    return flatten(dict(model.named_parameters()), ParamLayout.of(model)).detach().clone()


def _fd_jacobian_norm(forward, xi: torch.Tensor, h: float = 1e-6) -> float:
    """Frobenius norm of d softmax(forward(x)) / dx by central differences, one example."""
    flat = xi.reshape(-1)
    cols = []
    for j in range(flat.numel()):
        e = torch.zeros_like(flat)
        e[j] = h
        plus = torch.softmax(forward((flat + e).reshape(1, *xi.shape)), -1)[0]
        minus = torch.softmax(forward((flat - e).reshape(1, *xi.shape)), -1)[0]
        cols.append((plus - minus) / (2 * h))
    return float(torch.stack(cols, 1).norm().item())


# ---------------------------------------------------------------- sensitivity


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec("mlp", (6,), 4, hidden=(8,), activation="tanh"),
        ModelSpec("cnn", (1, 4, 4), 3, hidden=(5,), channels=(2,), activation="tanh"),
    ],
    ids=["mlp-6-8-4", "cnn-1x4x4"],
)
def test_jacobian_norm_matches_finite_differences(spec: ModelSpec) -> None:
    model = _net(spec, 0)
    torch.manual_seed(1)
    x = torch.randn(7, *spec.input_shape, dtype=DT)
    with torch.no_grad():  # must still work when the caller disabled grad
        got = jacobian_frobenius(model, x, chunk=3)
    fd = torch.tensor([_fd_jacobian_norm(model, x[i]) for i in range(len(x))], dtype=DT)
    assert got.shape == (7,)
    assert not got.requires_grad
    torch.testing.assert_close(got, fd, rtol=1e-6, atol=1e-9)
    # examples are independent in eval mode: the chunk size must not matter
    torch.testing.assert_close(jacobian_frobenius(model, x, chunk=1), got, rtol=1e-12, atol=0)
    torch.testing.assert_close(jacobian_frobenius(model, x, chunk=100), got, rtol=1e-12, atol=0)
    assert mean_sensitivity(model, x, chunk=2) == pytest.approx(float(fd.mean()), rel=1e-6)


def test_jacobian_is_with_respect_to_the_input() -> None:
    """softmax(Wx + b): J = (diag(p) − p pᵀ) W, by hand; the parameter-Jacobian differs."""
    torch.manual_seed(2)
    lin = nn.Linear(5, 3).to(DT)
    x = torch.randn(4, 5, dtype=DT)
    w = lin.weight.detach()
    expected, param_norms = [], []
    for xi in x:
        p = torch.softmax(lin(xi).detach(), -1)
        s = torch.diag(p) - torch.outer(p, p)
        expected.append((s @ w).norm())
        # d p / d W_kj = S_ik x_j, d p / d b = S: the norm w.r.t. the parameters
        param_norms.append(torch.sqrt(s.norm() ** 2 * (1 + xi.norm() ** 2)))
    expected_t = torch.stack(expected)
    got = jacobian_frobenius(lin, x)
    torch.testing.assert_close(got, expected_t, rtol=1e-10, atol=1e-12)
    assert not torch.allclose(got, torch.stack(param_norms), rtol=1e-3)
    # flat-parameter forward (as used on saved checkpoints) gives the same numbers
    g = flat_forward_fn(lin)
    theta = _theta(lin)
    torch.testing.assert_close(jacobian_frobenius(lambda xb: g(theta, xb), x), expected_t)


# ---------------------------------------------------------------- interpolation


def _bits(v: float) -> bytes:
    return struct.pack("<d", v)


def test_alpha_grid_contains_zero_and_one_exactly() -> None:
    grid = alpha_grid(-1.0, 2.0, 61)
    assert grid.dtype == np.float64 and grid.shape == (61,)
    assert grid[0] == -1.0 and grid[-1] == 2.0
    np.testing.assert_allclose(np.diff(grid), 0.05, rtol=1e-9)
    for target, idx in ((0.0, 20), (1.0, 40)):
        assert _bits(float(grid[idx])) == _bits(target)  # bit-exact, not -0.0
    assert (grid == 1.0).sum() == 1 and (grid == 0.0).sum() == 1
    sub = alpha_grid(0.0, 1.0, 11)
    assert sub[0] == 0.0 and sub[-1] == 1.0 and len(sub) == 11
    odd = alpha_grid(-0.7, 1.6, 24)  # step 0.1: 0 and 1 are on the grid
    assert (odd == 0.0).sum() == 1 and (odd == 1.0).sum() == 1 and len(odd) == 24
    off = alpha_grid(0.05, 0.95, 10)  # neither 0 nor 1 in range
    assert len(off) == 10 and not ((off == 0.0) | (off == 1.0)).any()


def test_alpha_grid_fixes_grids_where_linspace_misses_zero_and_one() -> None:
    naive = np.linspace(-3.0, 1.1, 42)  # step 0.1: linspace gives -4.4e-16 and 0.9999999999999996
    assert naive[30] != 0.0 and naive[40] != 1.0  # the trap is real for this grid
    grid = alpha_grid(-3.0, 1.1, 42)
    assert _bits(float(grid[30])) == _bits(0.0) and _bits(float(grid[40])) == _bits(1.0)
    np.testing.assert_allclose(grid, naive, rtol=0, atol=1e-12)
    # every grid of tenths that contains 0 or 1 contains it bit-exactly
    for a10 in range(-30, 1, 3):
        for b10 in range(10, 31, 4):
            for n in range(3, 90, 2):
                grid = alpha_grid(a10 / 10, b10 / 10, n)
                assert len(grid) == n and grid[0] == a10 / 10 and grid[-1] == b10 / 10
                for target in (0, 1):
                    k, r = divmod((target * 10 - a10) * (n - 1), b10 - a10)
                    if r == 0:
                        assert _bits(float(grid[k])) == _bits(float(target)), (a10, b10, n)


@pytest.mark.parametrize("args", [(1.0, 1.0, 5), (2.0, -1.0, 5), (0.0, 1.0, 1), (0.0, 1.0, 0)])
def test_alpha_grid_rejects_bad_arguments(args: tuple) -> None:
    with pytest.raises(ValueError):
        alpha_grid(*args)


def test_interpolate_is_bit_exact_at_the_endpoints() -> None:
    t1 = torch.tensor([-0.0, 0.1, -3.3, 1e-300, 7.0], dtype=DT)
    t2 = torch.tensor([0.3, -0.0, 2.2, 5.0, float("inf")], dtype=DT)
    a0, a1 = interpolate(t1, t2, 0.0), interpolate(t1, t2, np.float64(1.0))
    assert torch.equal(a0.view(torch.int64), t1.view(torch.int64))
    assert torch.equal(a1.view(torch.int64), t2.view(torch.int64))
    assert a0.data_ptr() != t1.data_ptr()  # a copy, not the caller's tensor
    u1, u2 = torch.randn(5, dtype=DT), torch.randn(5, dtype=DT)
    torch.testing.assert_close(interpolate(u1, u2, 0.25), 0.75 * u1 + 0.25 * u2)
    torch.testing.assert_close(interpolate(u1, u2, -1.0), 2 * u1 - u2)
    with pytest.raises(ValueError):
        interpolate(u1, torch.zeros(4, dtype=DT), 0.5)


def test_interpolation_table_reproduces_each_models_metrics() -> None:
    spec = ModelSpec("mlp", (4,), 3, hidden=(6,))
    m1, m2 = _net(spec, 10), _net(spec, 11)
    torch.manual_seed(3)
    data = {
        "train": (torch.randn(40, 4, dtype=DT), torch.randint(0, 3, (40,))),
        "test": (torch.randn(30, 4, dtype=DT), torch.randint(0, 3, (30,))),
    }
    fwd = flat_forward_fn(m1)
    ce = nn.CrossEntropyLoss()

    def evaluate(theta: torch.Tensor) -> dict[str, tuple[float, float]]:
        out = {}
        for split, (x, y) in data.items():
            logits = fwd(theta, x)
            out[split] = (ce(logits, y).item(), (logits.argmax(1) == y).double().mean().item())
        return out

    def direct(model: nn.Module) -> dict[str, tuple[float, float]]:
        with torch.no_grad():
            return {
                s: (ce(model(x), y).item(), (model(x).argmax(1) == y).double().mean().item())
                for s, (x, y) in data.items()
            }

    t1, t2 = _theta(m1), _theta(m2)
    alphas = alpha_grid(-1.0, 2.0, 13)
    table = interpolation_table(evaluate, t1, t2, alphas)
    assert list(table.columns) == ["alpha", "split", "loss", "accuracy"]
    assert len(table) == 2 * 13
    assert table.groupby("alpha").size().eq(2).all()
    for alpha, model in ((0.0, m1), (1.0, m2)):
        ref = direct(model)
        for split in ("train", "test"):
            row = table[(table.alpha == alpha) & (table.split == split)]
            assert len(row) == 1
            assert row.loss.item() == ref[split][0]  # exact equality
            assert row.accuracy.item() == ref[split][1]
    mid = table[(table.alpha == 0.5) & (table.split == "test")].loss.item()
    assert mid == pytest.approx(evaluate(0.5 * t1 + 0.5 * t2)["test"][0], rel=1e-12)
    assert mid != table[(table.alpha == 0.0) & (table.split == "test")].loss.item()


# ---------------------------------------------------------------- ε-sharpness


def _small_problem(seed: int = 0):
    spec = ModelSpec("mlp", (3,), 2, hidden=(5,), activation="tanh")
    model = _net(spec, seed)
    torch.manual_seed(seed + 100)
    x, y = torch.randn(32, 3, dtype=DT), torch.randint(0, 2, (32,))
    f = flat_loss_fn(model)
    return (lambda th: f(th, x, y)), _theta(model)


def test_eps_sharpness_zero_at_zero_and_nonnegative() -> None:
    loss_fn, theta = _small_problem()
    g = torch.Generator().manual_seed(0)
    assert eps_sharpness(loss_fn, theta, 0.0, generator=g) == 0.0
    assert eps_sharpness_curve(loss_fn, theta, [0.0, 0.0])[0] == 0.0
    assert eps_sharpness(loss_fn, theta, 1e-3, generator=g) > 0.0
    with pytest.raises(ValueError):
        eps_sharpness(loss_fn, theta, -0.1)


def test_eps_sharpness_curve_is_non_decreasing() -> None:
    loss_fn, theta = _small_problem(1)
    eps = [0.0, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1]
    curve = eps_sharpness_curve(
        loss_fn, theta, eps, steps=5, generator=torch.Generator().manual_seed(1)
    )
    assert len(curve) == len(eps) and curve[0] == 0.0
    assert all(b >= a for a, b in pairwise(curve))
    assert curve[-1] > curve[1] > 0.0
    with pytest.raises(ValueError):
        eps_sharpness_curve(loss_fn, theta, [1e-2, 1e-3])
    # close ε and a single ascent step: independent random starts would give a noisy,
    # non-monotone curve; nested boxes + warm starts + best-so-far must not
    fine = np.linspace(0.01, 0.011, 12).tolist()
    for seed in range(3):
        gen = torch.Generator().manual_seed(seed)
        curve = eps_sharpness_curve(loss_fn, theta, fine, steps=1, generator=gen)
        assert all(b >= a for a, b in pairwise(curve)), curve


def test_eps_sharpness_finds_the_box_maximum_of_a_quadratic() -> None:
    """L = ½ Σ a_i θ_i², a_i > 0: the box maximum is at the corner δ_i = sign(θ_i) ε(|θ_i|+1)."""
    a = torch.tensor([1.0, 2.0, 3.0, 0.5, 10.0], dtype=DT)

    def loss_fn(th: torch.Tensor) -> torch.Tensor:
        return 0.5 * (a * th**2).sum()

    eps = 0.2
    gen = torch.Generator().manual_seed(5)
    # at θ = 0 (a stationary point, hence the random start): max = ½ Σ a ε², L(θ) = 0
    phi0 = eps_sharpness(loss_fn, torch.zeros(5, dtype=DT), eps, generator=gen)
    assert phi0 == pytest.approx(100 * 0.5 * float(a.sum()) * eps**2, rel=1e-9)
    theta = torch.tensor([0.5, -1.0, 0.2, -0.3, 0.1], dtype=DT)
    l0 = float(loss_fn(theta))
    corner = theta.abs() + eps * (theta.abs() + 1)
    expected = (float(loss_fn(corner)) - l0) / (1 + l0) * 100
    got = eps_sharpness(loss_fn, theta, eps, init="zero")
    assert got == pytest.approx(expected, rel=1e-9)
    curve = eps_sharpness_curve(loss_fn, torch.zeros(5, dtype=DT), [0.0, 0.1, 0.2], generator=gen)
    assert curve[2] == pytest.approx(phi0, rel=1e-9)
    assert curve[1] == pytest.approx(100 * 0.5 * float(a.sum()) * 0.01, rel=1e-9)


# ---------------------------------------------------------------- Hessian


def test_lanczos_matches_dense_hessian() -> None:
    loss_fn, theta = _small_problem(2)  # 3-5-2 tanh MLP: 32 parameters
    dense = torch.autograd.functional.hessian(loss_fn, theta)
    assert dense.shape == (theta.numel(), theta.numel())
    eig = torch.linalg.eigvalsh(0.5 * (dense + dense.T))
    ref = float(eig[eig.abs().argmax()])
    got = top_hessian_eigenvalue(
        loss_fn, theta, iters=3000, tol=1e-13, generator=torch.Generator().manual_seed(0)
    )
    assert got == pytest.approx(ref, rel=1e-10)
    # the stated stopping rule: a loose tolerance stops early, still within tol of the value
    loose = top_hessian_eigenvalue(
        loss_fn, theta, iters=3000, tol=1e-3, generator=torch.Generator().manual_seed(0)
    )
    assert abs(loose - ref) <= 1e-3 * abs(ref)


def test_lanczos_stops_within_the_product_budget_on_a_wide_spectrum(monkeypatch) -> None:
    """200 parameters, eigenvalues 1..200 spread out (gap ratio 0.5%): power iteration needs
    thousands of products for 1e-8; Lanczos meets it within 60, and its residual rule stops
    sooner at a looser tolerance (Hessian-vector products counted)."""
    torch.manual_seed(7)
    q, _ = torch.linalg.qr(torch.randn(200, 200, dtype=DT))
    lam = torch.linspace(1.0, 200.0, 200, dtype=DT)
    h = q @ torch.diag(lam) @ q.T

    def loss_fn(th: torch.Tensor) -> torch.Tensor:
        return 0.5 * th @ h @ th

    products = []
    grad = torch.autograd.grad

    def counted(*args, **kwargs):
        products.append(kwargs.get("grad_outputs") is not None)
        return grad(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", counted)
    theta = torch.randn(200, dtype=DT, generator=torch.Generator().manual_seed(1))
    got = top_hessian_eigenvalue(loss_fn, theta, iters=60, tol=1e-8)
    tight = sum(products)
    assert got == pytest.approx(200.0, rel=1e-8)
    products.clear()
    loose = top_hessian_eigenvalue(loss_fn, theta, iters=60, tol=1e-3)
    assert sum(products) < tight <= 60
    assert abs(loose - 200.0) <= 1e-3 * 200.0


def test_lanczos_keeps_the_sign_of_a_negative_top_eigenvalue() -> None:
    torch.manual_seed(4)
    q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=DT))
    lam = torch.tensor([-5.0, 2.0, 1.0, -0.5, 0.3, 3.0], dtype=DT)
    h = q @ torch.diag(lam) @ q.T

    def loss_fn(th: torch.Tensor) -> torch.Tensor:
        return 0.5 * th @ h @ th + th.sum()

    got = top_hessian_eigenvalue(
        loss_fn, torch.randn(6, dtype=DT), iters=500, tol=1e-12, generator=None
    )
    assert got == pytest.approx(-5.0, rel=1e-8)
    assert math.isclose(top_hessian_eigenvalue(lambda th: th.sum() * 2, torch.ones(3)), 0.0)
    # ±5 the two largest |λ|: power iteration oscillates between them; Lanczos finds |λ| = 5
    lam = torch.tensor([-5.0, 5.0, 1.0, -0.5, 0.3, 3.0], dtype=DT)
    h2 = q @ torch.diag(lam) @ q.T
    got = top_hessian_eigenvalue(
        lambda th: 0.5 * th @ h2 @ th, torch.randn(6, dtype=DT), iters=6, tol=1e-12
    )
    assert abs(got) == pytest.approx(5.0, rel=1e-8)


# ---------------------------------------------------------------- Keskar's L-BFGS-B sharpness


def _two_wells(sharp: float, flat: float, m1: torch.Tensor, m2: torch.Tensor, c: float):
    """A loss with two minima: ½·sharp·‖θ−m1‖² (value 0) and ½·flat·‖θ−m2‖² + c (value c),
    each the lower branch near its own minimum."""

    def loss_fn(th: torch.Tensor) -> torch.Tensor:
        q1 = 0.5 * sharp * ((th - m1) ** 2).sum()
        q2 = 0.5 * flat * ((th - m2) ** 2).sum() + c
        return torch.minimum(q1, q2)

    return loss_fn


def test_keskar_sharpness_of_two_minima_is_the_box_maximum() -> None:
    """At each minimum of a two-well quadratic the box maximum of Metric 2.1 is known in
    closed form, ½ h Σ ε²(|m_i| + 1)², reached at a corner; 10 L-BFGS-B iterations find it
    (A = I), and the sharp well's value is the curvature ratio times the flat one's."""
    m1 = torch.tensor([0.5, -1.0, 0.2, 0.0], dtype=DT)
    m2 = torch.tensor([4.0, 3.0, -2.5, 5.0], dtype=DT)
    sharp, flat, c, eps = 100.0, 1.0, 0.25, 1e-3
    loss_fn = _two_wells(sharp, flat, m1, m2, c)
    gen = torch.Generator().manual_seed(3)
    for m, h, base in ((m1, sharp, 0.0), (m2, flat, c)):
        box = eps * (m.abs() + 1.0)
        expected = 0.5 * h * float((box**2).sum()) / (1.0 + base) * 100.0
        got = keskar_sharpness(loss_fn, m, eps, generator=gen)
        assert got == pytest.approx(expected, rel=1e-9)
    phi_sharp = keskar_sharpness(loss_fn, m1, eps, generator=gen)
    phi_flat = keskar_sharpness(loss_fn, m2, eps, generator=gen)
    ratio = (
        sharp
        * float(((eps * (m1.abs() + 1)) ** 2).sum())
        / float(((eps * (m2.abs() + 1)) ** 2).sum())
    )
    assert phi_sharp / phi_flat == pytest.approx(ratio * (1 + c), rel=1e-9)
    assert keskar_sharpness(loss_fn, m1, 0.0) == 0.0


def test_keskar_sharpness_at_a_near_zero_loss_minimum_reaches_the_box_maximum() -> None:
    """At a minimum as shallow as a trained MNIST net's (loss values ~1e-10 in the box, the
    gradient ~1e-8 < SciPy's default gtol of 1e-5), the 10 iterations still climb to the
    closed-form corner maximum ½ h Σ ε²(|m_i| + 1)² instead of stopping at the random start."""
    m = torch.tensor([0.5, -1.0, 0.2, 0.0, 2.0], dtype=DT)
    h, eps = 1e-4, 1e-3

    def loss_fn(th: torch.Tensor) -> torch.Tensor:
        return 0.5 * h * ((th - m) ** 2).sum()

    box = eps * (m.abs() + 1.0)
    expected = 0.5 * h * float((box**2).sum()) * 100.0
    for seed in range(3):
        got = keskar_sharpness(loss_fn, m, eps, generator=torch.Generator().manual_seed(seed))
        assert got == pytest.approx(expected, rel=1e-9)


def test_keskar_sharpness_in_many_dimensions_at_a_shallow_minimum_reaches_the_box() -> None:
    """In 20,000 dimensions at a shallow minimum (curvatures 1e-4 to 2e-4, the gradient in
    the box ~1e-7 per coordinate) 10 L-BFGS-B iterations reach the closed-form corner
    maximum ½ Σ h_i ε²(|m_i| + 1)² to 1e-4. Unscaled, every step is the raw gradient (the
    curvature pairs of −L are negative and skipped) and the value stays at the random
    start's, a third of the maximum."""
    g = torch.Generator().manual_seed(0)
    n, eps = 20_000, 1e-3
    m = torch.randn(n, generator=g, dtype=DT)
    h = 1e-4 * (1.0 + torch.rand(n, generator=g, dtype=DT))

    def loss_fn(th: torch.Tensor) -> torch.Tensor:
        return 0.5 * (h * (th - m) ** 2).sum()

    expected = 0.5 * float((h * (eps * (m.abs() + 1.0)) ** 2).sum()) * 100.0
    for seed in range(2):
        got = keskar_sharpness(loss_fn, m, eps, generator=torch.Generator().manual_seed(seed))
        assert got == pytest.approx(expected, rel=1e-4)


def test_keskar_sharpness_in_a_subspace_is_the_box_maximum() -> None:
    """At a quadratic minimum m, f(m + A y) = ½ yᵀ(AᵀHA)y. With A's columns scaled
    eigenvectors of H that matrix is diagonal, so every vertex of the box C_ε (bounds
    ε(|(A⁺m)_i| + 1): m is not in A's span) is a global maximum: brute force over the 2^p
    vertices is the independent answer."""
    g = torch.Generator().manual_seed(11)
    n, p = 6, 3
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=DT))
    lam = torch.tensor([9.0, 4.0, 2.5, 1.0, 0.5, 0.2], dtype=DT)
    hess = q @ torch.diag(lam) @ q.T
    m = torch.randn(n, generator=g, dtype=DT)

    def loss_fn(th: torch.Tensor) -> torch.Tensor:
        d = th - m
        return 0.5 * d @ hess @ d

    a = q[:, :p] * torch.tensor([2.0, 0.5, 3.0], dtype=DT)
    eps = 1e-2
    box = eps * ((torch.linalg.pinv(a) @ m).abs() + 1.0)
    best = max(
        float(loss_fn(m + a @ (box * torch.tensor(signs, dtype=DT))))
        for signs in itertools.product((-1.0, 1.0), repeat=p)
    )
    got = keskar_sharpness(loss_fn, m, eps, subspace=a, generator=g)
    assert got == pytest.approx(best * 100.0, rel=1e-9)
    # a drawn A of the requested width (standard normal entries) gives a positive value
    assert keskar_sharpness(loss_fn, m, eps, subspace=p, generator=g) > 0.0


@pytest.mark.parametrize(
    "kw", [{"eps": -1.0}, {"eps": 1e-3, "iterations": 0}, {"eps": 1e-3, "subspace": 0}]
)
def test_keskar_sharpness_rejects_bad_arguments(kw: dict) -> None:
    eps = kw.pop("eps")
    with pytest.raises(ValueError):
        keskar_sharpness(lambda t: (t**2).sum(), torch.zeros(3, dtype=DT), eps, **kw)
