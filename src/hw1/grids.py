"""The α grid of the interpolation analysis: one definition, read by the config check at
parse time (numpy only, no torch) and by the analysis job."""

from __future__ import annotations

import math

import numpy as np


def alpha_grid(start: float, stop: float, n: int) -> np.ndarray:
    """``n`` evenly spaced α from ``start`` to ``stop`` (both included), float64.

    ``np.linspace`` alone yields values such as ``1.0000000000000002``; here the values are
    rounded to 12 decimals (removing that noise) and, when 0 or 1 lies on the grid, the grid
    point is set to exactly ``0.0`` / ``1.0`` (never ``-0.0``), so that the models themselves
    are evaluated there.
    """
    if isinstance(n, bool) or int(n) != n or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    start, stop, n = float(start), float(stop), int(n)
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise ValueError(f"start and stop must be finite, got {start}, {stop}")
    if start >= stop:
        raise ValueError(f"start must be < stop, got {start} >= {stop}")
    step = (stop - start) / (n - 1)
    grid = np.linspace(start, stop, n, dtype=np.float64)
    if step >= 1e-9:
        grid = np.round(grid, 12)
        grid[0], grid[-1] = start, stop
    for target in (0.0, 1.0):
        k = (target - start) / step
        idx = round(k)
        if 0 <= idx < n and abs(k - idx) < 1e-6:
            grid[idx] = target
    return grid + 0.0  # turns any -0.0 into 0.0
