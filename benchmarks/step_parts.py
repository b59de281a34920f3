"""Benchmark: where a dense training job's time goes, per batch size, at its own thread count.

    python benchmarks/step_parts.py [--experiment batch_size] [--dataset mnist] [--repeat R]

For each variant of a dense (MLP) experiment of ``config.yaml`` on one data set, built by the
engine exactly as its training job builds it (all seeds stacked, ``hw1.resources.job_threads``
threads), milliseconds per training step of one epoch and of its parts, each timed alone
(best of ``--repeat`` interleaved rounds in one process):

- ``gemm``: the step's matrix products alone (``torch.bmm`` at the step's shapes into
  preallocated outputs: forward, weight gradients, input gradients below the first layer):
  the arithmetic at this machine's GEMM rate for these shapes;
- ``fwd+bwd``: the engine's hand-written forward and backward (``DenseBackprop``) on
  gathered minibatches; ``fwd+bwd`` − ``gemm`` is the elementwise work and dispatch between
  the products (bias, activations and their masks, softmax, bias sums);
- ``optimizer``: the fused Adam/SGD update alone, and the GB/s of the bytes it must move
  (Adam reads θ, g and both moments and writes back three; SGD reads θ, g, writes θ);
- ``gather``: the minibatch gathers as the engine makes them (per step, or the whole
  epoch's at once for small sets), into its buffers; in brackets into a fresh tensor each
  time (``x[idx]``, as before 437f862);
- ``eval``: the epoch's full-set evaluation (train and test) over its steps;
- ``epoch``: the engine's own epoch (``train_epoch`` then ``record``) over its steps, and
  ``rest`` = ``epoch`` minus the parts (the Python loop, slicing, what the parts miss).

The shares of the GEMM peak count FLOPs as ``benchmarks/jobs.py`` does (6 per multiply-add of
a training example, 2 of an evaluated one). Time nothing while other work shares the CPU.
"""

from __future__ import annotations

import argparse

import torch
from bench_common import (
    best_of,
    config_variants,
    gemm_peaks,
    one_epoch_jobs,
    peak_header,
    variant_args,
)

from hw1.architectures import (
    param_count,
    spec_of,
    train_flops_per_example,
)
from hw1.engine import Data, make_trainer
from hw1.resources import job_flops
from hw1.trainspec import TrainSpec


def parts(ts: TrainSpec, data: Data, steps: int, repeat: int) -> dict[str, float]:
    """Seconds per training step of each part of one job's epoch (see the module text)."""
    tr = make_trainer(ts, data)
    bp = tr.backprop
    if bp is None:
        raise ValueError(f"{ts.experiment}/{ts.variant} is not a dense network")
    bs, s = ts.batch_size, tr.n_seeds
    steps = min(steps, tr.steps_per_epoch)
    perms = torch.stack([torch.randperm(tr.n_train, generator=g) for g in tr.gens])
    xs, ys = tr.x_train[perms], data.y_train[perms]
    batches = [(xs[:, k * bs : (k + 1) * bs], ys[:, k * bs : (k + 1) * bs]) for k in range(steps)]

    # the products at the step's shapes, into preallocated outputs
    gemms = []
    for i, layer in enumerate(bp.layers):
        n_out, n_in = layer.weight.shape[1:]
        h = torch.randn(s, bs, n_in)
        g = torch.randn(s, bs, n_out)
        z = torch.empty(s, bs, n_out)
        gw = torch.empty(s, n_out, n_in)
        gi = torch.empty(s, bs, n_in) if i > 0 else None
        gemms.append((h, g, z, gw, gi, layer))

    def run_gemms():
        for _ in range(steps):
            for h, g, z, gw, gi, layer in gemms:
                torch.bmm(h, layer.weight_t, out=z)
                torch.bmm(g.transpose(1, 2), h, out=gw)
                if gi is not None:
                    torch.bmm(g, layer.weight, out=gi)

    def run_fwd_bwd():
        for xb, yb in batches:
            tr.loss_and_grad(xb, yb)

    def run_opt():
        for _ in range(steps):
            tr.opt.step()

    def run_gather():  # the engine's own gather: the epoch at once when small, else per step
        if tr.pregather:
            tr.gather(perms)
            return
        for k in range(steps):
            tr.gather(perms[:, k * bs : (k + 1) * bs])

    def run_fresh():  # the gather before 437f862: a fresh tensor per gather (x[idx])
        if tr.pregather:
            tr.x_train[perms], data.y_train[perms]
            return
        for k in range(steps):
            idx = perms[:, k * bs : (k + 1) * bs]
            tr.x_train[idx], data.y_train[idx]

    gather_steps = tr.steps_per_epoch if tr.pregather else steps
    state = tr.fresh_state()
    tr.bind(state, -1)

    def run_epoch():  # the engine's own epoch: its training steps and one evaluation
        tr.train_epoch(state, 1)
        tr.record(state, 1)

    names = ("gemm", "fwd+bwd", "optimizer", "gather", "fresh", "eval", "epoch")
    t = dict.fromkeys(names, float("inf"))
    for _ in range(repeat):  # interleaved rounds: a slow moment hits every part alike
        t["gemm"] = min(t["gemm"], best_of(run_gemms, 1) / steps)
        t["fwd+bwd"] = min(t["fwd+bwd"], best_of(run_fwd_bwd, 1) / steps)
        t["optimizer"] = min(t["optimizer"], best_of(run_opt, 1) / steps)
        t["gather"] = min(t["gather"], best_of(run_gather, 1) / gather_steps)
        t["fresh"] = min(t["fresh"], best_of(run_fresh, 1) / gather_steps)
        t["eval"] = min(t["eval"], best_of(lambda: tr.record(state, 0), 1) / tr.steps_per_epoch)
        t["epoch"] = min(t["epoch"], best_of(run_epoch, 1) / tr.steps_per_epoch)
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    variant_args(ap, "batch_size", repeat=5)
    ap.add_argument("--steps", type=int, default=400, help="steps per timed round (at most)")
    args = ap.parse_args()
    cache, variants = config_variants(args.experiment, args.dataset, args.data_dir)
    peaks = gemm_peaks([1, args.max_threads])
    print(peak_header("step parts", args, peaks))
    print(
        "\n| job | threads | gemm | fwd+bwd | optimizer (GB/s) | gather (fresh) | eval | rest | "
        "epoch | of peak: gemm / fwd+bwd+opt / epoch |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    jobs = one_epoch_jobs(variants, cache, args.dataset, args.max_threads)
    for name, d, ts, threads, data in jobs:
        t = parts(ts, data, args.steps, args.repeat)
        ms = spec_of(d)
        seeds = len(ts.seeds)
        n_train, n_test = data.x_train.shape[0], data.x_test.shape[0]
        step_flops = seeds * train_flops_per_example(ms) * ts.batch_size
        epoch_flops = job_flops(d, n_train, n_test, evaluations=1)  # d: one epoch
        # fused Adam reads θ, g, m, v and writes θ, m, v; plain SGD reads θ, g and writes θ
        opt_bytes = (7 if ts.optimizer == "adam" else 3) * 4 * seeds * param_count(ms)
        rest = t["epoch"] - t["fwd+bwd"] - t["optimizer"] - t["gather"] - t["eval"]
        peak = peaks[threads] * 1e9
        steps = n_train // ts.batch_size
        print(
            f"| {name} | {threads} | {t['gemm'] * 1e3:.3f} | {t['fwd+bwd'] * 1e3:.3f} | "
            f"{t['optimizer'] * 1e3:.3f} ({opt_bytes / t['optimizer'] / 1e9:.0f}) | "
            f"{t['gather'] * 1e3:.3f} ({t['fresh'] * 1e3:.3f}) | {t['eval'] * 1e3:.3f} | "
            f"{rest * 1e3:.3f} | "
            f"{t['epoch'] * 1e3:.3f} | {step_flops / t['gemm'] / peak:.0%} / "
            f"{step_flops / (t['fwd+bwd'] + t['optimizer']) / peak:.0%} / "
            f"{epoch_flops / (t['epoch'] * steps) / peak:.0%} |"
        )


if __name__ == "__main__":
    main()
