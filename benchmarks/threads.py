"""Benchmark: one job on two threads against two one-thread jobs side by side, the measurement
behind the default ``threads: 1``. Prints a Markdown table.

    python benchmarks/threads.py [--data results/data/mnist.pt] [--repeat R] [EXP/VARIANT ...]

For each training job of the default config (default: the kinds that took two threads
before, a CNN and the large-step MLPs), one epoch over its full training set plus its
evaluations, each in a fresh process (OpenMP reads its waiting policy at start-up):
1 thread; 2 threads with OpenMP's default spinning (``OMP_WAIT_POLICY=ACTIVE``); 2 threads
with the workflow's ``OMP_WAIT_POLICY=PASSIVE``; and two 1-thread processes at once, whose
work per second over one alone is the throughput of the pair. Seconds are the best of
``--repeat`` epochs in each process. Time nothing while other work shares the CPU.
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_JOBS = (
    "cnn_depth/mnist-cnn4",
    "params_vs_generalization/mnist-h1024",
    "random_labels/mnist-true_labels",
    "batch_size/mnist-bs512",
    "batch_size/mnist-bs2048",
)


def epoch_seconds(job: str, data: str, threads: int, repeat: int) -> float:
    """Best-of-``repeat`` seconds of one epoch (and its evaluations) of ``job`` in this
    process, on ``threads`` torch threads (the child's side of :func:`timed`)."""
    import torch
    import yaml
    from bench_common import best_of

    from hw1.config import expand_variants, validate
    from hw1.data import image_tensors
    from hw1.engine import Data, train
    from hw1.trainspec import TrainSpec

    cfg = validate(
        yaml.safe_load((REPO / "config.yaml").read_text()),
        REPO / "workflow" / "schemas" / "config.schema.yaml",
    )
    exp, var = job.split("/")
    d = copy.deepcopy(expand_variants(cfg)[exp][var])
    d.update(epochs=1, snapshot_epochs=[], checkpoint_every=0, record_steps=False)
    spec = TrainSpec.from_dict(d)
    torch.set_flush_denormal(True)
    torch.set_num_threads(threads)
    x, y, xt, yt = image_tensors(data, train_size=spec.train_examples or 60000)
    tensors = Data(x, y, xt, yt)
    return best_of(lambda: train(spec, tensors), repeat)


def timed(job: str, data: str, threads: int, policy: str, repeat: int, n: int = 1) -> list[float]:
    """Epoch seconds of ``n`` processes of ``job`` started together (``n=2``: side by side)."""
    env = {**os.environ, "OMP_WAIT_POLICY": policy}
    cmd = [sys.executable, __file__, "--child", str(threads), "--data", data,
           "--repeat", str(repeat), job]  # fmt: skip
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) for _ in range(n)]
    out = []
    for p in procs:
        stdout, _ = p.communicate()
        if p.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode})")
        out.append(float(stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("jobs", nargs="*", default=list(DEFAULT_JOBS))
    ap.add_argument("--data", default=str(REPO / "results" / "data" / "mnist.pt"))
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(epoch_seconds(args.jobs[0], args.data, args.child, args.repeat))
        return
    if not Path(args.data).exists():
        sys.exit(f"{args.data} does not exist: prepare it first (snakemake results/data/mnist.pt)")
    print(
        "| job | 1 thread s | 2 threads spinning s | 2 threads passive s | "
        "two 1-thread jobs side by side s (the slower) | pair's work / one job's |\n"
        "|---|---:|---:|---:|---:|---:|"
    )
    for job in args.jobs:
        (one,) = timed(job, args.data, 1, "PASSIVE", args.repeat)
        (active,) = timed(job, args.data, 2, "ACTIVE", args.repeat)
        (passive,) = timed(job, args.data, 2, "PASSIVE", args.repeat)
        pair = timed(job, args.data, 1, "PASSIVE", args.repeat, n=2)
        print(
            f"| {job} | {one:.2f} | {active:.2f} ({one / active:.2f}x) | "
            f"{passive:.2f} ({one / passive:.2f}x) | {max(pair):.2f} | "
            f"{2 * one / max(pair):.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
