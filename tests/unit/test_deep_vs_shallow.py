"""Part 1-1 tables against independent computation."""

from __future__ import annotations

import numpy as np
import torch

from hw1.data import write_function_grid
from hw1.engine import train
from hw1.jobs.train import load_data, write_run
from hw1.tables.deep_vs_shallow import table_function_fit
from tests.builders import train_spec


def test_function_fit_predictions_are_the_stored_networks_outputs(tmp_path):
    """Every y_pred equals the output of the network rebuilt by hand (plain nn.Linear
    layers) from that seed's stored final weights, at the test-grid points."""
    grid = tmp_path / "fn_sinc.parquet"
    write_function_grid("sinc", (-1.0, 1.0), 30, grid)
    spec = train_spec(
        experiment="functions",
        variant="sinc-medium",
        model={"type": "mlp", "hidden": [6, 5]},
        seeds=[0, 1],
    )
    data = load_data(spec, {"function": str(grid)}, {}, torch.device("cpu"))
    result = train(spec, data)
    paths = [tmp_path / f"{k}.parquet" for k in ("metrics", "steps", "weights")]
    write_run(result, *paths)
    df = table_function_fit({"weights": [str(paths[2])], "functions": [str(grid)]}, {})
    x_test = data.x_test[:, 0].double().numpy()
    for seed in (0, 1):
        w = result.snapshots[(result.snapshots.seed == seed) & (result.snapshots.epoch == 3)]
        theta = torch.tensor(np.asarray(w.weights.iloc[0]))
        # unpack [W1, b1, W2, b2, W3, b3] by hand and run the MLP with plain matrix algebra
        sizes = [(6, 1), (6,), (5, 6), (5,), (1, 5), (1,)]
        parts, off = [], 0
        for shape in sizes:
            n = int(np.prod(shape))
            parts.append(theta[off : off + n].reshape(shape))
            off += n
        assert off == theta.numel()
        h = data.x_test
        for i in range(0, 6, 2):
            h = h @ parts[i].T + parts[i + 1]
            if i < 4:
                h = torch.relu(h)
        rows = df[df.seed == seed].sort_values("x")
        np.testing.assert_allclose(rows.x.to_numpy(), x_test, rtol=1e-6)
        np.testing.assert_allclose(
            rows.y_pred.to_numpy(), h[:, 0].double().numpy(), rtol=1e-5, atol=1e-6
        )
        assert np.isfinite(rows.y_true).all()
    # the two seeds really differ (a mean of both would match neither)
    a, b = (df[df.seed == s].sort_values("x").y_pred.to_numpy() for s in (0, 1))
    assert np.abs(a - b).max() > 1e-3
