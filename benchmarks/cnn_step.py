"""Benchmark: the stacked CNN training step with and without its two layout changes.

    python benchmarks/cnn_step.py [--experiment cnn_depth] [--dataset mnist] [--repeat R]

For each variant of a conv experiment of ``config.yaml`` on one data set (all seeds stacked,
as its training job builds it, at ``hw1.resources.job_threads`` threads), milliseconds per
training step (forward, backward, fused optimizer; one fixed minibatch, 30 steps a round) and
seconds per full-set evaluation, in three layouts, interleaved rounds in one process, best
of ``--repeat``:

- ``before``: the flatten between conv and dense layers a plain ``contiguous()`` (its NCHW
  gradient made the channels-last max pool's backward copy its input-sized gradient) and the
  layers in the modules' order (ReLU, then max pool);
- ``flatten``: :class:`hw1.stacked._ToNCHW` (the gradient handed back channels-last);
- ``both``: that and the max pool before the ReLU (:func:`hw1.stacked._pool_before_relu`),
  what the engine runs.

Before timing, each layout trains 40 steps from the same start and the weights and full-set
metrics are checked bit-identical across layouts. Time nothing while other work shares the CPU.
"""

from __future__ import annotations

import argparse
import time

import torch
from bench_common import config_variants, gemm_peaks, one_epoch_jobs, peak_header, variant_args

from hw1 import stacked
from hw1.engine import make_trainer

LAYOUTS = ("before", "flatten", "both")
_TO_NCHW = stacked._ToNCHW.apply


def set_layout(tr, layout: str) -> None:
    """Put the trainer's ensemble (and the flatten) into ``layout``."""
    stacked._ToNCHW.apply = (lambda h: h.contiguous()) if layout == "before" else _TO_NCHW
    children = list(tr.ens.template.named_children())
    tr.ens.order = stacked._pool_before_relu(children) if layout == "both" else children


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    variant_args(ap, "cnn_depth", repeat=9)
    args = ap.parse_args()
    cache, variants = config_variants(args.experiment, args.dataset, args.data_dir)
    peaks = gemm_peaks([1, args.max_threads])
    print(peak_header("cnn step", args, peaks) + f"; best of {args.repeat}\n")
    print(
        "| job | threads | ms/step before | flatten | both | speed-up | eval s before | both |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    jobs = one_epoch_jobs(variants, cache, args.dataset, args.max_threads)
    for name, _, ts, threads, data in jobs:
        bs = ts.batch_size
        ends = {}
        for layout in LAYOUTS:  # the same 40 steps from the same start in each layout
            tr = make_trainer(ts, data)
            set_layout(tr, layout)
            perms = torch.stack([torch.randperm(tr.n_train, generator=g) for g in tr.gens])
            for k in range(40):
                tr.loss_and_grad(*tr.gather(perms[:, k * bs : (k + 1) * bs]))
                tr.opt.step()
            ends[layout] = (tr.ens.flat(), *tr._metrics())
        for layout in LAYOUTS[1:]:
            if not all(map(torch.equal, ends["before"], ends[layout])):
                raise AssertionError(f"{name}: layout {layout} is not bit-identical")
        tr = make_trainer(ts, data)
        xb, yb = (t.clone() for t in tr.gather(perms[:, :bs]))
        step = dict.fromkeys(LAYOUTS, float("inf"))
        ev = dict.fromkeys(LAYOUTS, float("inf"))
        for _ in range(args.repeat):  # interleaved: a slow moment hits every layout alike
            for layout in LAYOUTS:
                set_layout(tr, layout)
                t = time.perf_counter()
                for _ in range(30):
                    tr.loss_and_grad(xb, yb)
                    tr.opt.step()
                step[layout] = min(step[layout], (time.perf_counter() - t) / 30)
                t = time.perf_counter()
                tr._metrics()
                ev[layout] = min(ev[layout], time.perf_counter() - t)
        print(
            f"| {name} | {threads} | {step['before'] * 1e3:.2f} | {step['flatten'] * 1e3:.2f} | "
            f"{step['both'] * 1e3:.2f} | {step['before'] / step['both']:.2f}x | "
            f"{ev['before']:.2f} | {ev['both']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
