"""Benchmark: the full-set evaluation of each dense job kind at several chunk sizes.

    cd benchmarks && python eval_chunks.py [--repeat R]

For one variant of each dense (MLP) experiment of ``config.yaml`` on MNIST, built as its
training job builds it (all seeds stacked, one thread), seconds of one full-set evaluation
(training and test sets, :func:`hw1.stacked.evaluate`) with the chunk capped at each size,
best of ``--repeat`` interleaved rounds in one process, and the chunk the engine picks
(:func:`hw1.stacked.dense_eval_chunk`: the widest activation within ``DENSE_EVAL_BYTES``).
The losses and accuracies are checked equal across the chunk sizes. Time nothing while other
work shares the CPU.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import torch
import yaml
from bench_common import find_data_dir

import hw1.stacked as st
from hw1 import datasets
from hw1.config import expand_variants, validate
from hw1.data import image_tensors, prepare
from hw1.engine import Data, make_trainer
from hw1.trainspec import TrainSpec

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
JOBS = [
    ("batch_size", "mnist-bs32"),
    ("interpolation", "mnist-small_batch"),
    ("params_vs_generalization", "mnist-h1024"),
    ("random_labels", "mnist-random"),
    ("pca_trajectories", "mlp"),
]
CHUNKS = [10000, 4096, 2048, 1024, 512]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    torch.set_num_threads(1)
    ds = datasets.get("mnist")
    tmp = Path(tempfile.mkdtemp(prefix="hw1-bench-"))
    cache = tmp / "mnist.pt"
    prepare("mnist", tmp, find_data_dir(ds.folder, REPO), False, cache)
    cfg = validate(yaml.safe_load((REPO / "config.yaml").read_text()), SCHEMA)
    variants = expand_variants(cfg)
    print(
        f"\nfull-set evaluation, seconds (train + test sets, 1 thread, best of {args.repeat}) — "
        f"{time.strftime('%Y-%m-%d %H:%M')}, torch {torch.__version__}\n"
    )
    print("| job | seeds × widest | " + " | ".join(f"chunk {c}" for c in CHUNKS) + " | engine's |")
    print("|---|---|" + "---:|" * (len(CHUNKS) + 1))
    for exp, var in JOBS:
        d = copy.deepcopy(variants[exp][var])
        d.update(snapshot_epochs=[], checkpoint_every=0, record_steps=False, epochs=1)
        ts = TrainSpec.from_dict(d)
        data = Data(*image_tensors(cache, train_size=ts.train_examples or ds.n_train))
        ens = make_trainer(ts, data).ens
        sets = ((data.x_train, data.y_train), (data.x_test, data.y_test))
        mine = st.dense_eval_chunk(ens)
        best = dict.fromkeys([*CHUNKS, "engine"], float("inf"))
        ref = None
        saved = st.DENSE_EVAL_BYTES
        for _ in range(args.repeat):
            for c in [*CHUNKS, "engine"]:
                # a cap of the chunk itself: the bytes limit lifted, the chunk passed
                st.DENSE_EVAL_BYTES = saved if c == "engine" else 1 << 62
                chunk = ts.eval_batch_size if c == "engine" else c
                t0 = time.perf_counter()
                out = [st.evaluate(ens, ts.task, x, y, chunk) for x, y in sets]
                best[c] = min(best[c], time.perf_counter() - t0)
                got = torch.stack([torch.cat(o) for o in out])
                if ref is None:
                    ref = got
                elif not torch.allclose(got, ref, rtol=1e-6, atol=0):
                    raise AssertionError(f"{exp}/{var}: chunk {c} changed the metrics")
        st.DENSE_EVAL_BYTES = saved
        widest = max(s[0] for s in ens.layout.shapes)
        print(
            f"| {exp}/{var} | {ens.n_seeds} × {widest} | "
            + " | ".join(f"{best[c]:.3f}" for c in CHUNKS)
            + f" | {best['engine']:.3f} ({min(mine, ts.eval_batch_size)}) |"
        )


if __name__ == "__main__":
    main()
