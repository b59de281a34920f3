"""The report's statistics against independent computation: Kendall's τ by counting pairs and
by SciPy, bootstrap intervals against their exact bounds, the exact permutation test, the
granulated coefficient on hand-built groups, and the random-walk PCA baseline against its
known limit 6/(π²k²)."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from hw1 import stats


def pair_count_tau(x, y) -> float:
    """τ-a by counting concordant and discordant pairs (no ties in the inputs used)."""
    c = d = 0
    for i, j in combinations(range(len(x)), 2):
        s = np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
        c += s > 0
        d += s < 0
    return (c - d) / math.comb(len(x), 2)


def test_kendall_tau_counts_pairs_and_matches_scipy():
    rng = np.random.default_rng(3)
    x = rng.permutation(12).astype(float)
    y = x + rng.normal(0, 4, 12)
    assert stats.kendall_tau(x, y) == pytest.approx(pair_count_tau(x, y), abs=1e-12)
    assert stats.kendall_tau(x, x) == pytest.approx(1.0)
    assert stats.kendall_tau(x, -x) == pytest.approx(-1.0)
    ties = np.array([1.0, 1.0, 2.0, 3.0, 3.0, 4.0])
    other = np.array([2.0, 1.0, 3.0, 3.0, 5.0, 4.0])
    assert stats.kendall_tau(ties, other) == pytest.approx(sps.kendalltau(ties, other).statistic)
    assert math.isnan(stats.kendall_tau([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))


def test_kendall_interval_resamples_pairs():
    x = np.arange(20.0)
    iv = stats.kendall_interval(x, 2 * x + 1, resamples=500)
    # every resample is concordant
    assert (iv.estimate, iv.low, iv.high) == pytest.approx((1.0, 1.0, 1.0))
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=60), rng.normal(size=60)
    iv = stats.kendall_interval(a, b, resamples=2000)
    assert iv.low < iv.estimate < iv.high and iv.low < 0 < iv.high
    # a resampling that broke the pairing would centre near 0 whatever the data
    y = x + rng.normal(0, 3, 20)
    iv = stats.kendall_interval(x, y, resamples=2000)
    assert iv.estimate == pytest.approx(pair_count_tau(x, y))
    assert iv.low > 0.3


def test_difference_and_ratio_intervals_lie_within_their_exact_bounds():
    a, b = [1.0, 2.0, 3.0], [11.0, 12.0, 13.0]
    iv = stats.difference_interval(a, b, resamples=4000)
    assert iv.estimate == pytest.approx(10.0)
    # resampled means lie in [min, max] of each sample: the difference in [11-3, 13-1]
    assert 8.0 <= iv.low < 10.0 < iv.high <= 12.0
    assert iv.excludes(0.0) and not iv.excludes(10.0)
    r = stats.ratio_interval(a, b, resamples=4000)
    assert r.estimate == pytest.approx(6.0)
    assert 11 / 3 <= r.low < 6.0 < r.high <= 13.0
    same = stats.difference_interval([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], resamples=4000)
    assert not same.excludes(0.0)
    with pytest.raises(ValueError, match="positive"):
        stats.ratio_interval([0.0, 1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="non-finite"):
        stats.difference_interval([1.0, math.nan], [1.0, 2.0])


def test_permutation_pvalue_exact_and_monte_carlo():
    # 3 vs 3 fully separated: of the 20 splits, only the observed one and its mirror are as
    # extreme
    assert stats.permutation_pvalue([1, 2, 3], [11, 12, 13]) == pytest.approx(2 / 20)
    assert stats.permutation_pvalue([1, 2, 3], [1, 2, 3]) == 1.0
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 40), rng.normal(1.5, 1, 40)
    p = stats.permutation_pvalue(a, b, resamples=2000)
    assert p < 0.01
    assert p == pytest.approx(sps.ttest_ind(a, b).pvalue, abs=0.01)


def test_granulated_kendall_averages_within_matched_groups():
    df = pd.DataFrame(
        {
            "dataset": ["a"] * 4 + ["b"] * 4 + ["c"],
            "width": [1, 2, 3, 4] * 2 + [1],
            "measure": [1.0, 2.0, 3.0, 4.0, 4.0, 3.0, 2.0, 1.0, 5.0],
            "gap": [0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4, 0.9],
        }
    )
    psi, n = stats.granulated_kendall(df, "measure", "gap", ["dataset"])
    assert (psi, n) == (0.0, 2)  # +1 in a, -1 in b, c has one model
    df.loc[df["dataset"] == "b", "measure"] = [1.0, 2.0, 4.0, 3.0]
    psi, _ = stats.granulated_kendall(df, "measure", "gap", ["dataset"])
    assert psi == pytest.approx((1.0 + pair_count_tau([1, 2, 4, 3], [1, 2, 3, 4])) / 2)
    assert stats.granulated_kendall(df.iloc[8:], "measure", "gap", ["dataset"])[1] == 0


@pytest.mark.parametrize("centre", ["mean", "last"])
def test_random_walk_pca_tends_to_six_over_pi_squared_k_squared(centre):
    evr = stats.random_walk_explained_variance(
        1000, dim=4000, walks=4, components=3, centre=centre
    ).mean(axis=0)
    expected = [6 / (math.pi**2 * k**2) for k in (1, 2, 3)]
    assert evr == pytest.approx(expected, abs=0.02)


def test_random_walk_explained_variance_of_short_walks_is_reproducible():
    a = stats.random_walk_explained_variance(11, walks=5, seed=4, centre="last")
    b = stats.random_walk_explained_variance(11, walks=5, seed=4, centre="last")
    assert np.array_equal(a, b) and a.shape == (5, 2)
    assert ((a > 0) & (a < 1)).all() and (a[:, 0] >= a[:, 1]).all()
    with pytest.raises(ValueError, match="snapshots"):
        stats.random_walk_explained_variance(2)


@pytest.mark.parametrize("centre", ["mean", "last"])
def test_random_walk_explained_variance_equals_scikit_learn_pca_of_the_same_walk(centre):
    from sklearn.decomposition import PCA

    got = stats.random_walk_explained_variance(
        9, dim=50, walks=2, components=2, centre=centre, seed=3
    )
    rng = np.random.default_rng(3)  # the same draws, walk by walk
    for row in got:
        path = np.cumsum(rng.standard_normal((9, 50)), axis=0)
        # Li et al.'s rows: the points before the end, minus the end point
        rows = path if centre == "mean" else path[:-1] - path[-1]
        want = PCA(n_components=2).fit(rows).explained_variance_ratio_
        np.testing.assert_allclose(row, want, rtol=1e-10)


def test_mean_sd():
    assert stats.mean_sd([1.0, 2.0, 3.0]) == (2.0, 1.0)
    m, s = stats.mean_sd([4.0])
    assert m == 4.0 and math.isnan(s)


def test_kendall_interval_equals_scipy_on_every_resample():
    """The sign-matrix τ-b of each resample (ties from models drawn twice included) is
    SciPy's: the interval equals a bootstrap that calls SciPy on the same draws."""
    rng = np.random.default_rng(2)
    x = np.round(rng.normal(size=25), 1)  # ties in x as well
    y = x + rng.normal(size=25)
    got = stats.kendall_interval(x, y, resamples=300, seed=9)
    draws_rng = np.random.default_rng(9)
    draws = [
        sps.kendalltau(x[i], y[i]).statistic
        for i in (draws_rng.integers(0, 25, 25) for _ in range(300))
    ]
    lo, hi = np.quantile(draws, [0.025, 0.975])
    assert (got.low, got.high) == pytest.approx((lo, hi), abs=1e-12)
    assert got.estimate == pytest.approx(sps.kendalltau(x, y).statistic)
