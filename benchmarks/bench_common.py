"""What the benchmark scripts share: a training spec for a model, and the sinc data set."""

from __future__ import annotations

import torch

from hw1.data import function_grid
from hw1.engine import Data
from hw1.trainspec import TrainSpec


def spec(model, dataset="mnist", batch=64, epochs=1, seeds=(0,)) -> TrainSpec:
    """A one-variant Adam 1e-3 training spec of ``model`` (a config ``model`` mapping)."""
    return TrainSpec.from_dict(
        dict(
            experiment="bench",
            variant="v",
            dataset=dataset,
            model=model,
            optimizer="adam",
            lr=1e-3,
            batch_size=batch,
            epochs=epochs,
            seeds=list(seeds),
        )
    )


def fn_data(n: int = 1000, device: str | torch.device = "cpu") -> Data:
    """sin(5πx)/(5πx) on [-1, 1]: ``n`` training points and the midpoints as the test set."""
    df = function_grid("sinc", (-1.0, 1.0), n)
    out = []
    for split in ("train", "test"):
        part = df[df.split == split]
        out += [
            torch.tensor(part.x.to_numpy(), dtype=torch.float32, device=device).unsqueeze(1),
            torch.tensor(part.y.to_numpy(), dtype=torch.float32, device=device).unsqueeze(1),
        ]
    return Data(*out)
