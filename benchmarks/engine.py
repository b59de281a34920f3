"""Benchmark: how far each kind of training job is from this machine's limit, and the engine
against plain PyTorch. Prints Markdown tables.

    python benchmarks/engine.py [--threads N] [--repeat R] [--quick] [--no-workflow]

1. The machine's fp32 GEMM peak (``torch.mm`` of 2048x2048 matrices) at 1 and N threads.
2. Every kind of training job of the default config (function net, minimal-ratio net, MNIST
   MLP small and large, CNN) at its own settings and thread count (``hw1.resources.job_threads``):
   seconds per epoch (training plus the full-set evaluation), ms per training step, achieved
   GFLOP/s (forward + backward FLOPs counted from the architecture: 6 per multiply-add of
   training, 2 of evaluation) and that rate as a share of the GEMM peak at the same threads.
3. The engine against plain PyTorch on the same work: a DataLoader loop (torchvision's
   per-sample MNIST dataset, ``ToTensor`` + ``Normalize``, shuffled batches, evaluation
   passes through DataLoaders); 3 function nets stacked against three ``nn.Module``s with
   their own Adam, one after another (same epochs, full-set evaluation every epoch); the
   stacked CNN step against the seeds' plain modules stepped one after another; stacked
   seeds against the same seeds trained one after another by the engine.
4. ``snakemake --cores 2`` on the function fits and the minimal-ratio phase 1 (full-scale
   settings, fewer epochs): wall time, CPU time of all jobs and the share of the two cores
   kept busy (tiny jobs take one thread each, so two run side by side).

Wall-clock seconds, best of ``--repeat`` runs. Time nothing while other work shares the CPU.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml
from bench_common import best_of, find_data_dir, fn_data, gemm_peaks, spec
from torch import nn

from hw1.architectures import spec_of
from hw1.config import expand_variants, validate
from hw1.data import fetch_raw, image_tensors, prepare
from hw1.datasets import MNIST
from hw1.engine import Data, make_trainer, model_spec, train
from hw1.resources import job_flops, job_threads
from hw1.stacked import FusedOptimizer, StackedEnsemble, init_model, per_seed_loss
from hw1.trainspec import TrainSpec

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
MLP = {"type": "mlp", "hidden": [32, 32]}  # the MNIST MLP of pca_trajectories
CNN = {"type": "cnn", "channels": [8, 16], "hidden": [30]}
FN_NET = {"type": "mlp", "hidden": [10, 10, 10, 10, 10]}
# (label, experiment, variant, epochs timed) of the job kinds of the default config
JOB_KINDS = (
    ("function net", "functions", "sinc-deep", 200),
    ("minimal-ratio net", "minimal_ratio", "mlp", 50),
    ("MNIST MLP small", "pca_trajectories", "mlp", 1),
    ("MNIST MLP large", "random_labels", "mnist-random", 1),
    ("MNIST MLP (interpolation, batch 64)", "interpolation", "mnist-small_batch", 1),
    ("CNN", "cnn_depth", "mnist-cnn4", 1),
)


# ----------------------------------------------------------------------- 2. job kinds


def job_kinds(cfg: dict, cache: Path, repeat: int, quick: bool, max_threads: int) -> list[tuple]:
    variants = expand_variants(cfg)
    rows = []
    for label, exp, var, epochs in JOB_KINDS:
        d = copy.deepcopy(variants[exp][var])
        d["epochs"] = max(1, epochs // (5 if quick else 1))
        d["snapshot_epochs"], d["checkpoint_every"], d["record_steps"] = [], 0, False
        ts = TrainSpec.from_dict(d)
        threads = job_threads(d, max_threads)
        torch.set_num_threads(threads)
        if ts.dataset == "mnist":
            n = ts.train_examples or MNIST.n_train
            if quick:
                n = min(n, 6000)
            data = Data(*image_tensors(cache, train_size=n))
        else:
            data = fn_data(cfg["functions"][ts.dataset]["n_train"])
        n_train, n_test = data.x_train.shape[0], data.x_test.shape[0]
        ms = spec_of(d)
        steps = n_train // ts.batch_size
        seeds = len(ts.seeds)
        # time of `epochs` epochs minus one extra evaluation (epoch 0) measured apart
        t_run = best_of(lambda ts=ts, data=data: train(ts, data), repeat)
        # one full-set evaluation (train + test) exactly as the engine records it
        tr = make_trainer(ts, data)
        state = tr.fresh_state()
        t_eval = best_of(lambda tr=tr, state=state: tr.record(state, 0), repeat)
        per_epoch = (t_run - t_eval) / ts.epochs
        per_step = (per_epoch - t_eval) / steps
        # one epoch: its training steps and one full-set evaluation
        flops = job_flops({**d, "epochs": 1}, n_train, n_test, evaluations=1)
        rate = flops / per_epoch / 1e9
        rows.append(
            (
                label,
                f"{exp}/{var}",
                f"{seeds} x {ms.type} {'-'.join(map(str, ms.channels or ms.hidden))}",
                ts.batch_size,
                n_train,
                threads,
                per_step * 1e3,
                per_epoch,
                rate,
            )
        )
    return rows


# ------------------------------------------------------------------- 3. vs PyTorch


def dataloader_epoch(root: Path, model: dict, batch: int, n_train: int) -> None:
    """The plain PyTorch way: per-sample Dataset, DataLoader, standard loop, eval passes."""
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MNIST.mean, MNIST.std)])
    train_set = Subset(
        datasets.MNIST(str(root), train=True, transform=tf, download=True), range(n_train)
    )
    test_set = datasets.MNIST(str(root), train=False, transform=tf, download=True)
    s = spec(model, batch=batch)
    net = init_model(model_spec(s, MNIST.input_shape), 0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()

    def evaluate():
        net.eval()
        with torch.no_grad():
            for ds in (train_set, test_set):
                for x, y in DataLoader(ds, batch_size=1000):
                    out = net(x)
                    crit(out, y).item()
                    (out.argmax(1) == y).sum().item()
        net.train()

    evaluate()
    for x, y in DataLoader(train_set, batch_size=batch, shuffle=True, drop_last=True):
        opt.zero_grad()
        crit(net(x), y).backward()
        opt.step()
    evaluate()


def plain_function_nets(data: Data, seeds: int, epochs: int, batch: int = 100) -> None:
    """Three (or ``seeds``) plain nn.Modules, each with its own Adam, one after another; the
    full training and test sets evaluated after every epoch (what the engine records)."""
    s = spec(FN_NET, "fn", batch, epochs)
    crit = nn.MSELoss()
    n = data.x_train.shape[0]
    for seed in range(seeds):
        net = init_model(model_spec(s, (1,)), seed)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        g = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            perm = torch.randperm(n, generator=g)
            for k in range(n // batch):
                idx = perm[k * batch : (k + 1) * batch]
                opt.zero_grad()
                crit(net(data.x_train[idx]), data.y_train[idx]).backward()
                opt.step()
            with torch.no_grad():
                crit(net(data.x_train), data.y_train).item()
                crit(net(data.x_test), data.y_test).item()


def cnn_steps(model: dict, x: torch.Tensor, y: torch.Tensor, repeat: int) -> tuple[float, float]:
    """Seconds per step: the seeds' plain modules stepped one after another (own Adam) vs
    the engine's stacked step (grouped channels-last convolutions, one fused Adam)."""
    s = x.shape[0]
    ms = model_spec(spec(model), MNIST.input_shape)
    nets = [init_model(ms, k) for k in range(s)]
    opts = [torch.optim.Adam(n.parameters(), lr=1e-3) for n in nets]
    crit = nn.CrossEntropyLoss()

    def plain(n_steps=5):
        for _ in range(n_steps):
            for k in range(s):
                opts[k].zero_grad()
                crit(nets[k](x[k]), y[k]).backward()
                opts[k].step()

    ens = StackedEnsemble(ms, tuple(range(s)), torch.device("cpu"))
    ens.params = {k: v.detach().clone().requires_grad_() for k, v in ens.params.items()}
    params = list(ens.params.values())
    for p in params:
        p.grad = torch.zeros_like(p)
    opt = FusedOptimizer("adam", params, [p.grad for p in params], lr=1e-3)

    def stacked(n_steps=5):
        for _ in range(n_steps):
            for p in params:
                p.grad.zero_()
            per_seed_loss("classification", ens.forward(x, False), y).sum().backward()
            opt.step()

    plain(1), stacked(1)
    return best_of(plain, repeat) / 5, best_of(stacked, repeat) / 5


def versus_pytorch(tmp: Path, cache: Path, args) -> list[tuple]:
    rows = []
    n_train = 6000 if args.quick else MNIST.n_train
    cnn_train = 3000 if args.quick else 12000
    torch.set_num_threads(args.threads)
    for name, model, n in (
        ("MLP 784-32-32-10", MLP, n_train),
        ("CNN conv 8-16 fc 30", CNN, cnn_train),
    ):
        data = Data(*image_tensors(cache, train_size=n))
        for batch in (64, 1024):
            t_dl = best_of(
                lambda m=model, b=batch, k=n: dataloader_epoch(tmp, m, b, k), args.repeat
            )
            t_en = best_of(lambda m=model, b=batch, d=data: train(spec(m, batch=b), d), args.repeat)
            rows.append(
                (
                    f"{name}, batch {batch}, {n} images, 1 epoch + eval",
                    args.threads,
                    "DataLoader loop",
                    t_dl,
                    "engine",
                    t_en,
                )
            )
    # tiny nets: one thread, as their jobs run
    torch.set_num_threads(1)
    fnd = fn_data()
    epochs = 40 if args.quick else 200
    t_plain = best_of(lambda: plain_function_nets(fnd, 3, epochs), args.repeat)
    t_stk = best_of(lambda: train(spec(FN_NET, "fn", 100, epochs, (0, 1, 2)), fnd), args.repeat)
    rows.append(
        (
            f"3 function nets 1-10x5-1, batch 100, {epochs} epochs, eval every epoch",
            1,
            "3 plain nn.Modules + Adam",
            t_plain,
            "stacked",
            t_stk,
        )
    )
    for n_seeds, ep in ((8, 20), (100, 5)):
        seeds = tuple(range(n_seeds))
        seq = best_of(
            lambda s=seeds, e=ep: [train(spec(FN_NET, "fn", 100, e, (k,)), fnd) for k in s], 1
        )
        stk = best_of(lambda s=seeds, e=ep: train(spec(FN_NET, "fn", 100, e, s), fnd), args.repeat)
        rows.append(
            (
                f"{n_seeds} function nets (471 params), {ep} epochs",
                1,
                "one after another",
                seq,
                "stacked",
                stk,
            )
        )
    torch.set_num_threads(args.threads)
    data = Data(*image_tensors(cache, train_size=n_train))
    seeds = tuple(range(8))
    seq = best_of(lambda: [train(spec(MLP, batch=128, seeds=(k,)), data) for k in seeds], 1)
    stk = best_of(lambda: train(spec(MLP, batch=128, seeds=seeds), data), args.repeat)
    rows.append(
        (
            f"8 MNIST MLPs 784-32-32-10, batch 128, {n_train} images, 1 epoch + eval",
            args.threads,
            "one after another",
            seq,
            "stacked",
            stk,
        )
    )
    x = image_tensors(cache, train_size=3 * 128)[0].view(3, 128, 1, 28, 28)
    y = torch.randint(0, 10, (3, 128), generator=torch.Generator().manual_seed(0))
    cnns = (("cnn1", [8], [16]), ("cnn2", [8, 16], [30]), ("cnn4", [8, 16, 32, 64], []))
    for label, chans, hidden in cnns:
        model = {"type": "cnn", "channels": chans, "hidden": hidden}
        for th in sorted({1, args.threads}):
            torch.set_num_threads(th)
            tp, ts = cnn_steps(model, x, y, args.repeat)
            rows.append(
                (
                    f"cnn_depth {label}: 3 seeds, one step at batch 128",
                    th,
                    "3 plain modules one after another",
                    tp,
                    "stacked",
                    ts,
                )
            )
    torch.set_num_threads(args.threads)
    return rows


# ---------------------------------------------------------------------- 4. two jobs


def workflow_cores(mnist_dir: Path, quick: bool) -> tuple[float, float, int]:
    """Run the function fits and minimal-ratio phase 1 of config.yaml (fewer epochs) with
    ``snakemake --cores 2``; return wall seconds, CPU seconds of all jobs, job count."""
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    exps = cfg["experiments"]
    keep = {"functions": exps["functions"], "minimal_ratio": exps["minimal_ratio"]}
    keep["functions"]["train"]["epochs"] = 100 if quick else 500
    keep["minimal_ratio"]["train"]["epochs"] = 50 if quick else 250
    cfg["experiments"] = keep
    cfg["figures"] = {}
    cfg["data"]["data_dir"] = str(mnist_dir)
    work = Path(tempfile.mkdtemp(prefix="hw1-bench-wf-"))
    (work / "bench.yaml").write_text(yaml.safe_dump(cfg))
    runs = "results/runs/functions/{}/metrics.parquet"
    targets = [runs.format(v) for v in expand_variants(cfg)["functions"]]
    targets.append("results/runs/minimal_ratio/mlp/metrics.parquet")
    smk = str(Path(sys.executable).with_name("snakemake"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [
            smk,
            "-s",
            str(REPO / "Snakefile"),
            "--directory",
            str(work),
            "--configfile",
            str(work / "bench.yaml"),
            "--cores",
            "2",
            *targets,
        ],
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, len(targets)


# ------------------------------------------------------------------------------ main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist-dir", default=None, help="folder holding MNIST/raw/*.gz")
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke check)")
    ap.add_argument("--no-workflow", action="store_true", help="skip the snakemake section")
    args = ap.parse_args()
    torch.set_flush_denormal(True)  # as every job of the workflow runs (hw1.runtime)
    src = args.mnist_dir or find_data_dir("MNIST/raw", REPO)
    tmp = Path(tempfile.mkdtemp(prefix="hw1-bench-"))
    fetch_raw(MNIST, tmp, Path(src) if src else None, download=True)
    cache = tmp / "mnist.pt"
    prepare("mnist", tmp, None, False, cache)
    cfg = validate(yaml.safe_load((REPO / "config.yaml").read_text()), SCHEMA)

    print(
        f"\nhw1 engine benchmark — {time.strftime('%Y-%m-%d')}, "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, CPU, "
        f"{os.cpu_count()} cores\n"
    )
    peaks = gemm_peaks(sorted({1, args.threads}))
    print(
        "fp32 GEMM peak (torch.mm 2048^3): "
        + ", ".join(f"{t} thread{'s' if t > 1 else ''} {p:.0f} GFLOP/s" for t, p in peaks.items())
    )

    print(
        "\n| job kind | job | networks | batch | train images | threads | ms/step | "
        "s/epoch | GFLOP/s | of peak |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    for label, job, nets, bs, n, th, ms, se, rate in job_kinds(
        cfg, cache, args.repeat, args.quick, args.threads
    ):
        print(
            f"| {label} | {job} | {nets} | {bs} | {n} | {th} | {ms:.3f} | {se:.3f} | "
            f"{rate:.1f} | {rate / peaks[th]:.0%} |"
        )

    print(
        "\n| case | threads | baseline | s | hw1 | s | speed-up |\n"
        "|---|---:|---|---:|---|---:|---:|"
    )
    for case, th, bname, tb, ename, te in versus_pytorch(tmp, cache, args):
        print(f"| {case} | {th} | {bname} | {tb:.3f} | {ename} | {te:.3f} | {tb / te:.1f}x |")

    if not args.no_workflow:
        wall, cpu, jobs = workflow_cores(Path(src) if src else tmp, args.quick)
        print(
            f"\nsnakemake --cores 2, {jobs} training jobs (9 function fits at 500 epochs, "
            f"minimal ratio at 250): wall {wall:.1f} s, CPU {cpu:.1f} s, "
            f"cores busy {cpu / (2 * wall):.0%} (includes Snakemake's own start-up)"
        )


if __name__ == "__main__":
    main()
