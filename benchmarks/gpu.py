"""GPU benchmark: a plain DataLoader loop, the engine's eager loop and its CUDA-graph-captured
step, on one CUDA device. Prints Markdown tables (and writes them to ``--out``).

    python benchmarks/gpu.py [--mnist-dir DIR] [--out FILE] [--quick]

1. Training step of an MNIST MLP (784-256-256-10) and CNN (conv 8-16, fc 30) at batch 64 and
   1024, one network: ms per step of (a) the plain PyTorch loop (torchvision's per-sample
   MNIST dataset with ``ToTensor`` + ``Normalize``, a shuffled ``DataLoader``, batches copied
   to the GPU, ``torch.optim.Adam``), (b) the engine's eager loop on device-resident data
   (``cuda_graphs: false``), (c) the engine's captured step (the default on CUDA). The
   engine's times are a whole epoch (the per-epoch permutation included) over its steps.
2. Full-set evaluation (60,000 + 10,000 images) per epoch: eager vs captured.
3. Stacked function nets (1-10x5-1, 1,000 points, batch 100, Adam): 8 and 100 seeds in one
   job, eager vs captured, in model-steps per second, and 8 plain ``nn.Module`` s with their
   own Adam stepped one after another (the per-run loop a student writes).

Device time: events and ``torch.cuda.synchronize`` around each timed region, after a warm-up
(the captured step's first epoch includes its warm-up and capture and is not timed); the best
of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from bench_common import fn_data, spec
from torch import nn

from hw1.data import fetch_raw, image_tensors, prepare
from hw1.datasets import MNIST
from hw1.engine import Data, make_trainer, model_spec
from hw1.stacked import init_model
from hw1.trainspec import TrainSpec

REPO = Path(__file__).resolve().parents[1]
MLP = {"type": "mlp", "hidden": [256, 256]}
CNN = {"type": "cnn", "channels": [8, 16], "hidden": [30]}
FN_NET = {"type": "mlp", "hidden": [10, 10, 10, 10, 10]}
DEV = torch.device("cuda")  # --device cpu: a smoke check of this script without a GPU


def _sync() -> None:
    if DEV.type == "cuda":
        torch.cuda.synchronize()


def sync_time(fn) -> float:
    _sync()
    t0 = time.perf_counter()
    fn()
    _sync()
    return time.perf_counter() - t0


def dataloader_steps(root: Path, model: dict, batch: int, n_steps: int) -> float:
    """Seconds per step of the plain loop (after 10 warm-up steps)."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MNIST.mean, MNIST.std)])
    ds = datasets.MNIST(str(root), train=True, transform=tf, download=True)  # (extracts)
    net = init_model(model_spec(spec(model, batch=batch), MNIST.input_shape), 0).to(DEV)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    it = iter(DataLoader(ds, batch_size=batch, shuffle=True, drop_last=True))

    def step():
        nonlocal it
        try:
            x, y = next(it)
        except StopIteration:
            it = iter(DataLoader(ds, batch_size=batch, shuffle=True, drop_last=True))
            x, y = next(it)
        x, y = x.to(DEV), y.to(DEV)
        opt.zero_grad()
        crit(net(x), y).backward()
        opt.step()

    for _ in range(10):
        step()
    return sync_time(lambda: [step() for _ in range(n_steps)]) / n_steps


def engine_epochs(ts: TrainSpec, data: Data, graphs: bool, epochs: int) -> tuple[float, float]:
    """Seconds per training step and per full-set evaluation of the engine (the first epoch
    and evaluation, which warm up and capture, untimed)."""
    tr = make_trainer(ts, data, graphs=graphs)
    state = tr.fresh_state()
    tr.bind(state, recorded=-1)
    for _ in range(4):  # the evaluation's warm-up calls and its capture
        tr.record(state, 0)
    tr.train_epoch(state, 1)
    t_train = min(sync_time(lambda e=e: tr.train_epoch(state, e)) for e in range(2, 2 + epochs))
    t_eval = min(sync_time(lambda: tr.record(state, 1)) for _ in range(3))
    return t_train / tr.steps_per_epoch, t_eval


def plain_function_nets(data: Data, seeds: int, epochs: int, batch: int = 100) -> float:
    """Model-steps per second of ``seeds`` plain modules with their own Adam, one after
    another, minibatches indexed on the GPU."""
    s = spec(FN_NET, "fn", batch, epochs)
    crit = nn.MSELoss()
    n = data.x_train.shape[0]

    def run():
        for seed in range(seeds):
            net = init_model(model_spec(s, (1,)), seed).to(DEV)
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            g = torch.Generator().manual_seed(seed)
            for _ in range(epochs):
                perm = torch.randperm(n, generator=g).to(DEV)
                for k in range(n // batch):
                    idx = perm[k * batch : (k + 1) * batch]
                    opt.zero_grad()
                    crit(net(data.x_train[idx]), data.y_train[idx]).backward()
                    opt.step()

    return seeds * epochs * (n // batch) / sync_time(run)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist-dir", default=str(REPO / "resources"))
    ap.add_argument("--out", default=None, help="also write the tables (and JSON) here")
    ap.add_argument("--quick", action="store_true", help="fewer steps and epochs")
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    global DEV
    DEV = torch.device(args.device)
    if DEV.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("benchmarks/gpu.py needs a CUDA device")
    tmp = Path(tempfile.mkdtemp(prefix="hw1-gpubench-"))
    fetch_raw(MNIST, tmp, Path(args.mnist_dir), download=False)
    cache = tmp / "mnist.pt"
    prepare("mnist", tmp, None, False, cache)
    mnist = Data(*image_tensors(cache, device=DEV))
    lines: list[str] = []
    rec: dict = {}

    def out(s: str = "") -> None:
        print(s, flush=True)
        lines.append(s)

    name = torch.cuda.get_device_name(DEV) if DEV.type == "cuda" else "CPU (smoke check)"
    out(f"\nhw1 GPU benchmark — {time.strftime('%Y-%m-%d')}, {name}, torch {torch.__version__}\n")
    out(
        "| network | batch | DataLoader loop ms/step | engine eager ms/step | captured ms/step "
        "| captured vs DataLoader | captured vs eager |"
    )
    out("|---|---:|---:|---:|---:|---:|---:|")
    evals = []
    n_dl = 60 if args.quick else 300
    epochs = 1 if args.quick else 2
    for label, model in (("MLP 784-256-256-10", MLP), ("CNN conv 8-16 fc 30", CNN)):
        for batch in (64, 1024):
            dl = dataloader_steps(tmp, model, batch, n_dl if batch == 64 else n_dl // 4)
            ts = spec(model, batch=batch, epochs=10)
            eager, ev_eager = engine_epochs(ts, mnist, False, epochs)
            capt, ev_capt = engine_epochs(ts, mnist, True, epochs)
            rec[f"{label}, batch {batch}: s per training step"] = {
                "dataloader": dl,
                "eager": eager,
                "captured": capt,
            }
            evals.append((label, batch, ev_eager, ev_capt))
            out(
                f"| {label} | {batch} | {dl * 1e3:.3f} | {eager * 1e3:.3f} | {capt * 1e3:.3f} "
                f"| {dl / capt:.1f}x | {eager / capt:.1f}x |"
            )
    out("\n| network | full-set evaluation (70,000 images), eager s | captured s |")
    out("|---|---:|---:|")
    for label, batch, e, c in evals:
        if batch == 64:
            out(f"| {label} | {e:.4f} | {c:.4f} |")
            rec[f"{label}: s per full-set evaluation"] = {"eager": e, "captured": c}

    fnd = fn_data(device=DEV)
    out(
        "\n| stacked function nets (1-10x5-1, batch 100) | eager model-steps/s "
        "| captured model-steps/s | captured vs eager |"
    )
    out("|---|---:|---:|---:|")
    fn_epochs = 5 if args.quick else 20
    for seeds in (8, 100):
        ts = spec(FN_NET, "fn", 100, 10, tuple(range(seeds)))
        rates = []
        for graphs in (False, True):
            step, _ = engine_epochs(ts, fnd, graphs, fn_epochs)
            rates.append(seeds / step)
        rec[f"{seeds} stacked function nets: model-steps per s"] = {
            "eager": rates[0],
            "captured": rates[1],
        }
        out(
            f"| {seeds} seeds in one job | {rates[0]:,.0f} | {rates[1]:,.0f} "
            f"| {rates[1] / rates[0]:.1f}x |"
        )
    plain = plain_function_nets(fnd, 8, 3 if args.quick else 10)
    rec["8 plain function nets one after another: model-steps per s"] = plain
    out(f"| 8 plain nn.Modules with their own Adam, one after another | {plain:,.0f} | | |")
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
        Path(args.out).with_suffix(".json").write_text(json.dumps(rec, indent=1))


if __name__ == "__main__":
    main()
