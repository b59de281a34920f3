"""What the benchmark scripts share: a training spec for a model, the sinc data set, the
machine's GEMM peak (the yardstick of every efficiency number), and the per-variant
benchmarks' options, heading, data cache and one-epoch jobs from ``config.yaml``.

A benchmark script run where the workflow's jobs preload the :mod:`hw1.mkl` shim (an AMD
CPU) re-executes itself with it on importing this module, so that its GEMM peak and timings
use the MKL kernels the jobs use (``HW1_MKL_SHIM=0``: MKL's generic path, as the jobs with
that setting)."""

from __future__ import annotations

import copy
import sys
import tempfile
import time
from pathlib import Path

from hw1 import mkl

REPO = Path(__file__).resolve().parents[1]


def _rerun_with_mkl_shim() -> None:
    """:func:`hw1.mkl.rerun_with_shim` for a script under benchmarks/ (not for an importer
    such as a test run)."""
    script = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    if script is not None and REPO / "benchmarks" in script.parents:
        mkl.rerun_with_shim(REPO / mkl.SHIM_DIR)


_rerun_with_mkl_shim()

import torch  # noqa: E402
import yaml  # noqa: E402

from hw1 import datasets  # noqa: E402
from hw1.config import expand_variants, validate  # noqa: E402
from hw1.data import function_grid, image_tensors, prepare  # noqa: E402
from hw1.engine import Data  # noqa: E402
from hw1.resources import job_threads  # noqa: E402
from hw1.trainspec import TrainSpec  # noqa: E402


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
    torch.set_flush_denormal(True)
    ds = datasets.get(dataset)
    src = data_dir or find_data_dir(ds.folder, REPO)
    tmp = Path(tempfile.mkdtemp(prefix="hw1-bench-"))
    cache = tmp / f"{dataset}.pt"
    prepare(dataset, tmp, src, False, cache)
    cfg = validate(
        yaml.safe_load((REPO / "config.yaml").read_text()),
        REPO / "workflow" / "schemas" / "config.schema.yaml",
    )
    variants = {
        k: v for k, v in expand_variants(cfg)[experiment].items() if v["dataset"] == dataset
    }
    return cache, variants


def variant_args(ap, experiment: str, repeat: int) -> None:
    """The options of a per-variant benchmark: which experiment and data set, where the data
    is, rounds, and the most threads a job may take."""
    ap.add_argument("--experiment", default=experiment)
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument(
        "--data-dir", default=None, help="folder holding the data set in torchvision's layout"
    )
    ap.add_argument("--repeat", type=int, default=repeat)
    ap.add_argument("--max-threads", type=int, default=2)


def peak_header(title: str, args, peaks: dict[int, float]) -> str:
    """The heading line of a per-variant benchmark: when, torch, what, the GEMM peaks."""
    return (
        f"\n{title} — {time.strftime('%Y-%m-%d %H:%M')}, torch {torch.__version__}, "
        f"{args.experiment} on {args.dataset}; fp32 GEMM peak "
        + ", ".join(f"{t} thread(s) {p:.0f} GFLOP/s" for t, p in peaks.items())
    )


def one_epoch_jobs(variants: dict, cache: Path, dataset: str, max_threads: int):
    """Each variant as a one-epoch training job without snapshots, checkpoints or step
    records: ``(name, variant dict, TrainSpec, threads, Data)``, torch's thread count set to
    the job's own (``hw1.resources.job_threads``)."""
    n_train = datasets.get(dataset).n_train
    for name, d in variants.items():
        d = copy.deepcopy(d)
        d["snapshot_epochs"], d["checkpoint_every"], d["record_steps"] = [], 0, False
        d["epochs"] = 1
        ts = TrainSpec.from_dict(d)
        threads = job_threads(d, max_threads)
        torch.set_num_threads(threads)
        yield (
            name,
            d,
            ts,
            threads,
            Data(*image_tensors(cache, train_size=ts.train_examples or n_train)),
        )
