"""What the benchmark scripts share: a training spec for a model, the sinc data set, and the
machine's GEMM peak (the yardstick of every efficiency number)."""

from __future__ import annotations

import time
from pathlib import Path

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


def find_data_dir(folder: str, repo: Path) -> Path | None:
    """The first folder holding ``folder`` (a data set's torchvision layout) among the
    project's ``resources/`` and the machine's ``../shared/data``; None where neither does."""
    for cand in (repo / "resources", repo.parent / "shared" / "data"):
        if (cand / folder).is_dir():
            return cand
    return None


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def gemm_peaks(thread_counts: list[int], rounds: int = 3) -> dict[int, float]:
    """fp32 GFLOP/s of a 2048^3 matrix product at each thread count: the best of ``rounds``
    alternating rounds of 5 products (a single early measurement read half the 2-thread
    peak once on this VM)."""
    old = torch.get_num_threads()
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    c = torch.empty(2048, 2048)
    best = dict.fromkeys(thread_counts, 0.0)
    for _ in range(rounds):
        for t in thread_counts:
            torch.set_num_threads(t)
            torch.mm(a, b, out=c)
            best[t] = max(best[t], 2 * 2048**3 / best_of(lambda: torch.mm(a, b, out=c), 5) / 1e9)
    torch.set_num_threads(old)
    return best


def config_variants(experiment: str, dataset: str, data_dir: str | None) -> tuple[Path, dict]:
    """The variants of ``experiment`` on ``dataset`` as ``config.yaml`` expands them, and the
    data set prepared into a fresh temporary cache (its path). Sets float32 denormals to
    flush, as every job of the workflow runs (``hw1.runtime``)."""
    import tempfile

    import yaml

    from hw1 import datasets
    from hw1.config import expand_variants, validate
    from hw1.data import prepare

    repo = Path(__file__).resolve().parents[1]
    torch.set_flush_denormal(True)
    ds = datasets.get(dataset)
    src = data_dir or find_data_dir(ds.folder, repo)
    tmp = Path(tempfile.mkdtemp(prefix="hw1-bench-"))
    cache = tmp / f"{dataset}.pt"
    prepare(dataset, tmp, src, False, cache)
    cfg = validate(
        yaml.safe_load((repo / "config.yaml").read_text()),
        repo / "workflow" / "schemas" / "config.schema.yaml",
    )
    variants = {
        k: v for k, v in expand_variants(cfg)[experiment].items() if v["dataset"] == dataset
    }
    return cache, variants
