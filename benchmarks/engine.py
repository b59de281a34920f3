"""Benchmark: the hw1 engine against a plain PyTorch DataLoader loop, and stacked seeds
against the same seeds trained one after another. Prints a table of times and ratios.

    python benchmarks/engine.py [--mnist-dir DIR] [--threads N] [--quick]

Each engine measurement is one call of ``hw1.engine.train`` (one epoch: training plus the
full-set evaluation of train and test at epoch 0 and 1). The DataLoader baseline does the
same work the usual way: torchvision's MNIST dataset (PIL images, ToTensor + Normalize),
``DataLoader(shuffle=True)``, one optimizer step per batch, then two evaluation passes over
train and test through DataLoaders. Wall-clock seconds, best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from hw1.data import MNIST_MEAN, MNIST_STD, fetch_mnist_raw, mnist_tensors, prepare_mnist
from hw1.engine import Data, TrainSpec, init_model, model_spec, train

REPO = Path(__file__).resolve().parents[1]
MLP = {"type": "mlp", "hidden": [32, 32]}  # the MNIST MLP of pca_trajectories (8 seeds)
CNN = {"type": "cnn", "channels": [8, 16], "hidden": [30]}
FN_NET = {"type": "mlp", "hidden": [10, 10, 10, 10, 10]}


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def spec(model, dataset="mnist", batch=64, epochs=1, seeds=(0,)) -> TrainSpec:
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


def dataloader_epoch(root: Path, model: dict, batch: int, n_train: int) -> None:
    """The plain PyTorch way: per-sample Dataset, DataLoader, standard loop, eval passes."""
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    tf = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]
    )
    train_set = Subset(
        datasets.MNIST(str(root), train=True, transform=tf, download=True), range(n_train)
    )
    test_set = datasets.MNIST(str(root), train=False, transform=tf, download=True)
    s = spec(model, batch=batch)
    net = init_model(model_spec(s, (1, 28, 28)), 0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()

    def evaluate():
        net.eval()
        with torch.no_grad():
            for ds in (train_set, test_set):
                tot, correct = 0.0, 0
                for x, y in DataLoader(ds, batch_size=1000):
                    out = net(x)
                    tot += crit(out, y).item() * len(y)
                    correct += (out.argmax(1) == y).sum().item()
        net.train()

    evaluate()
    for x, y in DataLoader(train_set, batch_size=batch, shuffle=True, drop_last=True):
        opt.zero_grad()
        crit(net(x), y).backward()
        opt.step()
    evaluate()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist-dir", default=None, help="folder holding MNIST/raw/*.gz")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke check)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    src = args.mnist_dir
    if src is None:
        for cand in (REPO / "resources", REPO.parent / "shared" / "data"):
            if (cand / "MNIST" / "raw").is_dir():
                src = cand
                break
    tmp = Path(tempfile.mkdtemp(prefix="hw1-bench-"))
    fetch_mnist_raw(tmp, Path(src) if src else None, download=True)
    prepare_mnist(tmp, None, False, tmp / "mnist.pt")
    n_train = 6000 if args.quick else 60000
    cnn_train = 3000 if args.quick else 12000
    rows = []

    def engine(model, batch, n, seeds=(0,)):
        data = Data(*mnist_tensors(tmp / "mnist.pt", train_size=n))
        return best_of(lambda: train(spec(model, batch=batch, seeds=seeds), data), args.repeat)

    for name, model, n in (
        ("MLP 784-32-32-10", MLP, n_train),
        ("CNN conv 8-16 fc 30", CNN, cnn_train),
    ):
        for batch in (64, 1024):
            t_dl = best_of(
                lambda m=model, b=batch, k=n: dataloader_epoch(tmp, m, b, k), args.repeat
            )
            t_en = engine(model, batch, n)
            rows.append(
                (
                    f"{name}, batch {batch}, {n} images, 1 epoch + eval",
                    "DataLoader loop",
                    t_dl,
                    "engine",
                    t_en,
                )
            )

    fn_data = Data(*_fn_data())
    for n_seeds, epochs in ((8, 20), (100, 5)):
        seeds = tuple(range(n_seeds))
        seq = best_of(
            lambda s=seeds, e=epochs: [train(spec(FN_NET, "fn", 100, e, (k,)), fn_data) for k in s],
            1,
        )
        stk = best_of(
            lambda s=seeds, e=epochs: train(spec(FN_NET, "fn", 100, e, s), fn_data), args.repeat
        )
        rows.append(
            (
                f"{n_seeds} function nets (471 params), {epochs} epochs",
                "one after another",
                seq,
                "stacked",
                stk,
            )
        )
    data = Data(*mnist_tensors(tmp / "mnist.pt", train_size=n_train))
    seeds = tuple(range(8))
    seq = best_of(lambda: [train(spec(MLP, batch=128, seeds=(k,)), data) for k in seeds], 1)
    stk = best_of(lambda: train(spec(MLP, batch=128, seeds=seeds), data), args.repeat)
    rows.append(
        (
            f"8 MNIST MLPs 784-32-32-10, batch 128, {n_train} images, 1 epoch + eval",
            "one after another",
            seq,
            "stacked",
            stk,
        )
    )

    print(
        f"\nhw1 engine benchmark — {time.strftime('%Y-%m-%d')}, "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{args.threads} threads, CPU\n"
    )
    print("| case | baseline | s | hw1 | s | speed-up |\n|---|---|---:|---|---:|---:|")
    for case, bname, tb, ename, te in rows:
        print(f"| {case} | {bname} | {tb:.2f} | {ename} | {te:.2f} | {tb / te:.1f}x |")


def _fn_data():
    from hw1.data import function_grid

    df = function_grid("sinc", (-1.0, 1.0), 1000)
    out = []
    for split in ("train", "test"):
        part = df[df.split == split]
        out += [
            torch.tensor(part.x.to_numpy(), dtype=torch.float32).unsqueeze(1),
            torch.tensor(part.y.to_numpy(), dtype=torch.float32).unsqueeze(1),
        ]
    return out


if __name__ == "__main__":
    main()
