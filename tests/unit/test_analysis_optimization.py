"""Part 1-2 analyses (Hessian, minimal ratio, PCA of trajectories, loss landscapes) checked
against independent computations: known spectra, finite differences, numpy SVD, lstsq."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from hw1.analysis.hessian import (
    GradNormResult,
    grad_norm_gradient,
    grad_norm_objective,
    hessian_matrix,
    hvp,
    minimal_ratio,
    minimal_ratio_table,
    minimize_grad_norm,
)
from hw1.analysis.landscape import filter_normalized_direction, pca_plane_grid, surface_2d
from hw1.analysis.pca import first_layer_columns, fit_pca_plane, pca_trajectories
from hw1.architectures import ModelSpec
from hw1.models import ParamLayout, build_model, flat_loss_fn, flatten

F64 = torch.float64
TABLE_COLUMNS = [
    "run",
    "loss",
    "grad_norm",
    "minimal_ratio",
    "ratio_nonzero",
    "n_positive",
    "n_negative",
    "n_near_zero",
    "n_params",
    "tol",
    "converged",
    "steps",
    "eigenvalues",
]


# ---------------------------------------------------------------- helpers (independent paths)


def _mlp(hidden: tuple[int, ...], n_in: int = 1, activation: str = "tanh") -> nn.Module:
    spec = ModelSpec("mlp", (n_in,), 1, hidden=hidden, activation=activation)
    return build_model(spec).double()


def _theta(model: nn.Module) -> torch.Tensor:
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()


def _autograd_loss_grad(model: nn.Module, theta: torch.Tensor, x, y) -> tuple[float, np.ndarray]:
    """Loss and gradient by plain autograd on the module (no torch.func, no unflatten)."""
    torch.nn.utils.vector_to_parameters(theta, model.parameters())
    model.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    g = torch.autograd.grad(loss, list(model.parameters()))
    return float(loss.detach()), torch.cat([t.reshape(-1) for t in g]).detach().numpy()


def _fd_hessian(model: nn.Module, theta: torch.Tensor, x, y, h: float = 1e-5) -> np.ndarray:
    """Central finite differences of the autograd gradient, column by column."""
    p = theta.numel()
    cols = []
    for j in range(p):
        e = torch.zeros(p, dtype=F64)
        e[j] = h
        gp = _autograd_loss_grad(model, theta + e, x, y)[1]
        gm = _autograd_loss_grad(model, theta - e, x, y)[1]
        cols.append((gp - gm) / (2 * h))
    return np.stack(cols, axis=1)


@pytest.fixture(scope="module")
def tanh_problem():
    """MLP 1-4-1 (tanh, float64, MSE) on 16 points of sin(3x), 6 runs pre-trained by GD."""
    torch.manual_seed(0)
    model = _mlp((4,))
    f = flat_loss_fn(model, nn.MSELoss())
    x = torch.linspace(-1, 1, 16, dtype=F64)[:, None]
    y = torch.sin(3 * x)
    thetas = torch.stack([_theta(_mlp((4,))) for _ in range(6)])
    g = torch.func.vmap(torch.func.grad(f), in_dims=(0, None, None))
    for _ in range(100):
        thetas = thetas - 0.2 * g(thetas, x, y)
    return model, f, x, y, thetas.detach()


@pytest.fixture(scope="module")
def linear_problem():
    """Linear regression 3 -> 1 (a quadratic loss with a positive-definite Hessian)."""
    gen = torch.Generator().manual_seed(1)
    model = build_model(ModelSpec("mlp", (3,), 1)).double()  # one Linear(3, 1)
    f = flat_loss_fn(model, nn.MSELoss())
    x = torch.randn(20, 3, generator=gen, dtype=F64)
    w = torch.tensor([[1.0], [-2.0], [0.5]], dtype=F64)
    y = x @ w + 0.3 * torch.randn(20, 1, generator=gen, dtype=F64)
    thetas = torch.randn(4, 4, generator=gen, dtype=F64)
    design = torch.cat([x, torch.ones(20, 1, dtype=F64)], dim=1)
    lstsq = torch.linalg.lstsq(design, y).solution.reshape(-1)
    return model, f, x, y, thetas, lstsq


# ---------------------------------------------------------------- Hessian and minimal ratio


def test_hessian_of_quadratic_recovers_known_spectrum():
    lam = torch.tensor([3.0, 1.0, 0.5, 0.0, 0.0, -0.2, -2.0], dtype=F64)
    q, _ = torch.linalg.qr(torch.randn(7, 7, generator=torch.Generator().manual_seed(3), dtype=F64))
    a = q @ torch.diag(lam) @ q.T
    theta = torch.randn(7, generator=torch.Generator().manual_seed(4)).float()  # float32 in

    h = hessian_matrix(lambda t: 0.5 * t @ a @ t, theta)
    assert h.dtype == F64
    torch.testing.assert_close(h, 0.5 * (a + a.T), atol=1e-12, rtol=0)
    ev = torch.linalg.eigvalsh(h)
    torch.testing.assert_close(ev, torch.sort(lam).values, atol=1e-12, rtol=0)

    mr = minimal_ratio(ev, tol=1e-8)
    assert (mr.n_positive, mr.n_negative, mr.n_near_zero, mr.n) == (3, 2, 2, 7)
    assert mr.ratio == pytest.approx(3 / 7)
    # a tolerance above 0.2 turns the small negative eigenvalue into "zero"
    mr = minimal_ratio(ev, tol=0.3)
    assert (mr.n_positive, mr.n_negative, mr.n_near_zero) == (3, 1, 3)


def test_minimal_ratio_tolerance_boundary():
    mr = minimal_ratio([1e-3, -1e-3, 5e-4, 2e-3, -5.0], tol=1e-3)
    # |λ| <= tol counts as zero, including exactly ±tol
    assert (mr.n_positive, mr.n_negative, mr.n_near_zero, mr.n) == (1, 1, 3, 5)
    assert mr.ratio == pytest.approx(0.2)
    with pytest.raises(ValueError):
        minimal_ratio([1.0], tol=-1.0)


def test_hessian_of_tiny_network_matches_finite_differences():
    torch.manual_seed(5)
    model = build_model(ModelSpec("mlp", (1,), 1, hidden=(4, 3), activation="tanh")).double()
    f = flat_loss_fn(model, nn.MSELoss())
    x = torch.linspace(-2, 2, 10, dtype=F64)[:, None]
    y = torch.cos(2 * x)
    theta = _theta(model)
    assert theta.numel() == ParamLayout.of(model).n_params == 27

    h = hessian_matrix(lambda t: f(t, x, y), theta).numpy()
    h_fd = _fd_hessian(model, theta, x, y)
    assert np.array_equal(h, h.T)
    # central differences: truncation O(h^2) ~ 1e-10, round-off ~ 1e-16 / 1e-5
    np.testing.assert_allclose(h, h_fd, atol=1e-7 * max(1.0, np.abs(h_fd).max()), rtol=0)
    assert np.abs(h).max() > 1e-2  # the comparison is not between two near-zero matrices


def test_hvp_and_grad_norm_gradient_equal_dense_hessian_times_gradient(tanh_problem):
    model, f, x, y, thetas = tanh_problem
    v = torch.randn(thetas.shape[1], generator=torch.Generator().manual_seed(6), dtype=F64)
    gphi, loss, gnorm = grad_norm_gradient(f, thetas[:3], x, y)
    for r in range(3):
        h = hessian_matrix(lambda t: f(t, x, y), thetas[r])
        loss_ref, g = _autograd_loss_grad(model, thetas[r], x, y)
        g = torch.from_numpy(g)
        torch.testing.assert_close(hvp(lambda t: f(t, x, y), thetas[r], v), h @ v)
        # ∇(½‖∇L‖²) = H ∇L, not the gradient of a relabelled loss
        torch.testing.assert_close(gphi[r], h @ g, atol=1e-12, rtol=1e-9)
        phi = grad_norm_objective(f)
        assert float(phi(thetas[r], x, y)) == pytest.approx(0.5 * float(g @ g), rel=1e-12)
        torch.testing.assert_close(torch.func.grad(phi)(thetas[r], x, y), gphi[r])
        assert float(loss[r]) == pytest.approx(loss_ref, rel=1e-12)
        assert float(gnorm[r]) == pytest.approx(float(g.norm()), rel=1e-12)
        assert not torch.allclose(gphi[r], g)


# ---------------------------------------------------------------- phase 2: minimise ‖∇L‖


def test_one_sgd_step_is_minus_lr_times_hessian_gradient(tanh_problem):
    model, f, x, y, thetas = tanh_problem
    lr = 0.1
    res = minimize_grad_norm(
        f, thetas[:2], x, y, threshold=0.0, max_steps=1, lr=lr, optimizer="sgd"
    )
    assert isinstance(res, GradNormResult)
    for r in range(2):
        h = hessian_matrix(lambda t: f(t, x, y), thetas[r])
        g = torch.from_numpy(_autograd_loss_grad(model, thetas[r], x, y)[1])
        expected = thetas[r] - lr * (h @ g)
        torch.testing.assert_close(res.theta[r], expected, atol=1e-13, rtol=0)
        # reported loss and gradient norm belong to the returned parameters
        loss_new, g_new = _autograd_loss_grad(model, res.theta[r], x, y)
        assert float(res.loss[r]) == pytest.approx(loss_new, rel=1e-12)
        assert float(res.grad_norm[r]) == pytest.approx(np.linalg.norm(g_new), rel=1e-10)
    assert res.steps.tolist() == [1, 1]
    assert res.converged.tolist() == [False, False]


def test_stacked_adam_equals_separate_runs(tanh_problem):
    _, f, x, y, thetas = tanh_problem
    kw = dict(threshold=1e-9, max_steps=5, lr=0.01, optimizer="adam")
    stacked = minimize_grad_norm(f, thetas[:3], x, y, **kw)
    for r in range(3):
        alone = minimize_grad_norm(f, thetas[r : r + 1], x, y, **kw)
        torch.testing.assert_close(stacked.theta[r], alone.theta[0], atol=1e-12, rtol=0)
    # first Adam step is lr * m̂ / (sqrt(v̂) + eps) with m̂ = ∇φ, v̂ = ∇φ²
    one = minimize_grad_norm(f, thetas[:1], x, y, **{**kw, "max_steps": 1})
    gphi = grad_norm_gradient(f, thetas[:1], x, y)[0]
    torch.testing.assert_close(one.theta, thetas[:1] - 0.01 * gphi / (gphi.abs() + 1e-8))


def test_minimize_grad_norm_converges_and_freezes(tanh_problem):
    model, f, x, y, thetas = tanh_problem
    g0 = grad_norm_gradient(f, thetas, x, y)[2]
    threshold = 0.02
    assert bool((g0 > 2 * threshold).all())  # every run starts well above the threshold
    kw = dict(threshold=threshold, lr=0.03, optimizer="adam")
    res = minimize_grad_norm(f, thetas, x, y, max_steps=300, **kw)
    assert int(res.converged.sum()) >= 4  # most of the 6 runs
    for r in range(6):
        g_ref = np.linalg.norm(_autograd_loss_grad(model, res.theta[r], x, y)[1])
        assert float(res.grad_norm[r]) == pytest.approx(g_ref, rel=1e-10)
        assert bool(res.converged[r]) == (g_ref < threshold)
        if res.converged[r]:
            assert 0 < int(res.steps[r]) < 300
        else:
            assert int(res.steps[r]) == 300

    # frozen runs do not move: a longer budget leaves runs converged early untouched
    longer = minimize_grad_norm(f, thetas, x, y, max_steps=400, **kw)
    early = res.converged & (res.steps < 300)
    assert bool(early.any())
    assert torch.equal(longer.theta[early], res.theta[early])
    assert torch.equal(longer.steps[early], res.steps[early])

    # a converged point stacked with unconverged ones stays bit-for-bit where it is
    r0 = int(torch.nonzero(res.converged)[0])
    mixed = torch.stack([res.theta[r0], thetas[0], thetas[1]])
    out = minimize_grad_norm(f, mixed, x, y, max_steps=20, **kw)
    assert torch.equal(out.theta[0], mixed[0])
    assert out.steps.tolist() == [0, 20, 20]
    assert out.converged.tolist() == [True, False, False]
    assert not torch.equal(out.theta[1], mixed[1])


def test_minimize_grad_norm_reaches_least_squares_solution(linear_problem):
    _, f, x, y, thetas, lstsq = linear_problem
    res = minimize_grad_norm(f, thetas, x, y, threshold=1e-6, max_steps=600, lr=0.05)
    assert res.converged.all()
    torch.testing.assert_close(res.theta, lstsq.expand_as(res.theta), atol=1e-5, rtol=0)


# ---------------------------------------------------------------- minimal ratio table


def test_minimal_ratio_table_at_start_points_matches_independent_spectrum(tanh_problem):
    model, f, x, y, thetas = tanh_problem
    df = minimal_ratio_table(
        f,
        thetas[:3],
        x,
        y,
        threshold=1e-12,
        max_steps=0,
        lr=0.01,
        tol=1e-6,
        rtol=1e-3,
        runs=[7, 8, 9],
    )
    assert list(df.columns) == TABLE_COLUMNS
    assert df["run"].tolist() == [7, 8, 9]
    assert df["steps"].tolist() == [0, 0, 0]
    assert df["converged"].dtype == bool and not df["converged"].any()
    for i in range(3):
        loss_ref, g_ref = _autograd_loss_grad(model, thetas[i], x, y)
        h_fd = _fd_hessian(model, thetas[i], x, y)
        ev = np.linalg.eigvalsh(0.5 * (h_fd + h_fd.T))
        row = df.iloc[i]
        assert row["loss"] == pytest.approx(loss_ref, rel=1e-12)
        assert row["grad_norm"] == pytest.approx(np.linalg.norm(g_ref), rel=1e-10)
        assert row["n_params"] == 13
        np.testing.assert_allclose(row["eigenvalues"], ev, atol=1e-6)
        # the zero band: max(absolute floor, rtol x largest |λ|, residual gradient norm)
        tol = max(1e-6, 1e-3 * np.abs(ev).max(), np.linalg.norm(g_ref))
        assert row["tol"] == pytest.approx(tol, rel=1e-6)
        # FD eigenvalues are good to ~1e-8, far from the band's edge
        assert not np.any(np.abs(np.abs(ev) - tol) < 1e-7)
        assert row["n_positive"] == int((ev > tol).sum())
        assert row["n_negative"] == int((ev < -tol).sum())
        assert row["n_near_zero"] == int((np.abs(ev) <= tol).sum())
        assert row["minimal_ratio"] == pytest.approx(row["n_positive"] / 13)
        k = row["n_positive"] + row["n_negative"]
        assert row["ratio_nonzero"] == pytest.approx(row["n_positive"] / k)


def test_minimal_ratio_does_not_hinge_on_the_loss_scale(tanh_problem):
    """Scaling the loss by c scales every eigenvalue and the gradient by c: the scale-aware
    zero band scales with them and the counts stay; a fixed absolute cut would not."""
    _, f, x, y, thetas = tanh_problem

    def table(c, **kw):
        return minimal_ratio_table(
            lambda t, xx, yy: c * f(t, xx, yy),
            thetas[:4],
            x,
            y,
            threshold=1e-12,
            max_steps=0,
            lr=0.01,
            **kw,
        )

    a, b = table(1.0, tol=0.0, rtol=1e-3), table(1e4, tol=0.0, rtol=1e-3)
    assert a["minimal_ratio"].tolist() == b["minimal_ratio"].tolist()
    assert a["n_near_zero"].tolist() == b["n_near_zero"].tolist()
    np.testing.assert_allclose(b["tol"], 1e4 * a["tol"], rtol=1e-9)
    # the same runs under one absolute cut (no gradient term possible to switch off: use a
    # cut far above the band) give scale-dependent counts
    fixed_a = [int((np.abs(e) <= 1e-1).sum()) for e in a["eigenvalues"]]
    fixed_b = [int((np.abs(e) <= 1e-1).sum()) for e in b["eigenvalues"]]
    assert fixed_a != fixed_b


def test_minimal_ratio_table_keeps_every_run(linear_problem):
    _, f, x, y, thetas, lstsq = linear_problem
    start = torch.cat([lstsq[None], thetas[:2]])  # one run starts at the minimum
    df = minimal_ratio_table(f, start, x, y, threshold=1e-6, max_steps=1, lr=0.05, tol=1e-8)
    assert list(df.columns) == TABLE_COLUMNS
    assert len(df) == 3 and df["run"].tolist() == [0, 1, 2]
    assert df["converged"].tolist() == [True, False, False]
    assert df["steps"].tolist() == [0, 1, 1]
    # least squares with a full-rank design: H = 2/N XᵀX is positive definite everywhere:
    # every clearly non-zero eigenvalue is positive; at the minimum (gradient 0) none is in
    # the zero band (away from it the residual gradient widens the band)
    assert df["n_negative"].tolist() == [0, 0, 0]
    nz = df["ratio_nonzero"].to_numpy()
    assert nz[0] == 1.0 and all(v == 1.0 or np.isnan(v) for v in nz)  # NaN: all in the band
    assert df["minimal_ratio"].iloc[0] == 1.0 and df["n_near_zero"].iloc[0] == 0
    assert {str(df[c].dtype) for c in ["run", "n_positive", "n_params", "steps"]} == {"int64"}


# ---------------------------------------------------------------- PCA of trajectories


def _trajectory_matrix():
    model = build_model(ModelSpec("mlp", (1, 2, 2), 1, hidden=(3,)))  # Flatten, 0 owns nothing
    layout = ParamLayout.of(model)
    rng = np.random.default_rng(0)
    runs = np.repeat(np.arange(3), 5)
    epochs = np.tile(np.arange(0, 50, 10), 3)
    drift = rng.normal(size=(3, layout.n_params))
    w = 0.1 * rng.normal(size=(15, layout.n_params)) + drift[runs] * epochs[:, None] / 40
    return layout, w, runs, epochs


def test_first_layer_columns_cover_weight_and_bias():
    layout, *_ = _trajectory_matrix()
    assert layout.layers()[0] == "1"
    assert first_layer_columns(layout) == slice(0, 4 * 3 + 3)
    cnn = build_model(ModelSpec("cnn", (1, 4, 4), 2, channels=(2,), kernel_size=3))
    assert first_layer_columns(ParamLayout.of(cnn)) == slice(0, 2 * 9 + 2)


def test_pca_matches_numpy_svd_and_layer_sees_only_its_columns():
    layout, w, runs, epochs = _trajectory_matrix()
    l1 = first_layer_columns(layout)
    parts = {"whole": None, "layer1": l1}
    df, evr = pca_trajectories(w, runs, epochs, layout, parts)
    assert list(df.columns) == ["run", "epoch", "part", "pc1", "pc2"]
    assert len(df) == 2 * 15 and set(evr) == {"whole", "layer1"}

    for name, cols in [("whole", slice(None)), ("layer1", l1)]:
        sub = w[:, cols] - w[:, cols].mean(axis=0)
        u, s, _ = np.linalg.svd(sub, full_matrices=False)
        ref = u[:, :2] * s[:2]
        got = df[df["part"] == name][["pc1", "pc2"]].to_numpy()
        np.testing.assert_allclose(np.abs(got), np.abs(ref), atol=1e-10)  # sign is arbitrary
        np.testing.assert_allclose(evr[name], s[:2] ** 2 / (s**2).sum(), rtol=1e-10)
        part = df[df["part"] == name]
        assert part["run"].tolist() == runs.tolist() and part["epoch"].tolist() == epochs.tolist()

    w2 = w.copy()
    w2[:, l1.stop :] += np.random.default_rng(1).normal(scale=5.0, size=w2[:, l1.stop :].shape)
    df2, _ = pca_trajectories(w2, runs, epochs, layout, parts)
    layer = ["pc1", "pc2"]
    np.testing.assert_array_equal(
        df2[df2["part"] == "layer1"][layer].to_numpy(), df[df["part"] == "layer1"][layer].to_numpy()
    )
    assert not np.allclose(
        df2[df2["part"] == "whole"][layer].to_numpy(), df[df["part"] == "whole"][layer].to_numpy()
    )


def test_pca_plane_grid_inverts_the_whole_model_projection():
    layout, w, runs, epochs = _trajectory_matrix()
    df, _ = pca_trajectories(w, runs, epochs, layout, {"whole": None})
    plane = fit_pca_plane(w)
    np.testing.assert_allclose(plane.project(w), df[["pc1", "pc2"]].to_numpy(), atol=1e-12)
    grid = pca_plane_grid(plane.mean, plane.components, ((-2.0, 3.0), (-1.0, 1.0)), 5)
    pts = grid.points()
    assert pts.shape == (5, 5, layout.n_params)
    coords = plane.project(pts.reshape(-1, layout.n_params).numpy()).reshape(5, 5, 2)
    c1, c2 = np.meshgrid(grid.c1, grid.c2, indexing="ij")
    np.testing.assert_allclose(coords[..., 0], c1, atol=1e-12)
    np.testing.assert_allclose(coords[..., 1], c2, atol=1e-12)
    np.testing.assert_allclose(
        pts[2, 2].numpy() - plane.mean, 0.5 * plane.components[0], atol=1e-12
    )


# ---------------------------------------------------------------- loss landscape


def test_filter_normalized_direction():
    torch.manual_seed(0)
    model = build_model(ModelSpec("cnn", (1, 6, 6), 3, channels=(4,), hidden=(5,)))
    params = dict(model.named_parameters())
    d = filter_normalized_direction(params, torch.Generator().manual_seed(0))
    assert list(d) == list(params)
    n_filters = 0
    for name, p in params.items():
        assert d[name].shape == p.shape
        if p.dim() == 1:
            assert torch.count_nonzero(d[name]) == 0
            continue
        wn = p.detach().flatten(1).norm(dim=1)
        dn = d[name].flatten(1).norm(dim=1)
        torch.testing.assert_close(dn, wn, rtol=1e-5, atol=0)
        n_filters += p.shape[0]
        # random, not a rescaled copy of the weights
        cos = torch.nn.functional.cosine_similarity(d[name].flatten(1), p.detach().flatten(1))
        assert bool((cos.abs() < 0.99).all())
    assert n_filters == 4 + 5 + 3
    again = filter_normalized_direction(params, torch.Generator().manual_seed(0))
    assert all(torch.equal(d[k], again[k]) for k in d)


def test_surface_2d_matches_direct_evaluation(tanh_problem):
    model, f, x, y, thetas = tanh_problem
    theta0 = thetas[0]
    layout = ParamLayout.of(model)
    gen = torch.Generator().manual_seed(2)
    params = {n: t for n, t in zip(layout.names, torch.split(theta0, layout.sizes), strict=True)}
    shaped = {n: t.reshape(s) for (n, t), s in zip(params.items(), layout.shapes, strict=True)}
    d1 = flatten(filter_normalized_direction(shaped, gen), layout)
    d2 = flatten(filter_normalized_direction(shaped, gen), layout)
    alphas, betas = np.linspace(-1, 1, 5), np.array([-0.5, 0.0, 0.25])

    def loss_flat(t):
        return f(t, x, y)

    surf = surface_2d(loss_flat, theta0, d1, d2, alphas, betas)
    assert surf.shape == (5, 3)
    assert surf[2, 1] == pytest.approx(_autograd_loss_grad(model, theta0, x, y)[0], rel=1e-12)
    for i, a in enumerate(alphas):
        for j, b in enumerate(betas):
            ref = _autograd_loss_grad(model, theta0 + a * d1 + b * d2, x, y)[0]
            assert surf[i, j] == pytest.approx(ref, rel=1e-10)
    loop = surface_2d(loss_flat, theta0, d1, d2, alphas, betas, vectorize=False)
    np.testing.assert_allclose(loop, surf, rtol=1e-12)
    assert np.ptp(surf) > 1e-3  # the directions really move the loss
