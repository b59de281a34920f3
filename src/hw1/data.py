"""Data sets: MNIST (verified, cached as one tensor file), random labels, 1-D function grids.

MNIST is read from the four official IDX files, each checked against the MD5 that
torchvision lists, and cached as a single ``torch.save`` file of uint8 tensors that loads in
well under a second. Everything here works without a network when the files are given.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from hw1.io import atomic_path, read_metadata, read_parquet, write_parquet

# File name -> (MD5, IDX magic number, shape after the header). MD5s as in torchvision.
MNIST_FILES: dict[str, tuple[str, int, tuple[int, ...]]] = {
    "train-images-idx3-ubyte.gz": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", 2051, (60000, 28, 28)),
    "train-labels-idx1-ubyte.gz": ("d53e105ee54ea40749a09fcbcd1e9432", 2049, (60000,)),
    "t10k-images-idx3-ubyte.gz": ("9fb629c4189551a2d022fa330f9573f3", 2051, (10000, 28, 28)),
    "t10k-labels-idx1-ubyte.gz": ("ec29112dd5afa0611ce80d1b7f02629c", 2049, (10000,)),
}
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
N_CLASSES = 10


class DataError(RuntimeError):
    """Missing, corrupt or inconsistent input data; the message says what to do."""


def md5sum(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _where_to_put(raw_dir: Path) -> str:
    names = "\n".join(f"  {n}  (md5 {m[0]})" for n, m in MNIST_FILES.items())
    return (
        f"Put these four files into {raw_dir}/ (or set data.data_dir in the config to a folder "
        f"that holds them, directly or under MNIST/raw/):\n{names}"
    )


def _find_in(data_dir: Path, name: str) -> Path | None:
    for cand in (data_dir / name, data_dir / "raw" / name, data_dir / "MNIST" / "raw" / name):
        if cand.is_file():
            return cand
    return None


def verify_mnist_file(path: Path) -> None:
    """Raise :class:`DataError` naming ``path`` if its MD5 is not the official one."""
    expected = MNIST_FILES[path.name][0]
    got = md5sum(path)
    if got != expected:
        raise DataError(
            f"{path} has MD5 {got}, expected {expected} (the official file). It is truncated, "
            "corrupt or another file: delete it and copy or download it again."
        )


def fetch_mnist_raw(root: Path, data_dir: Path | None, download: bool) -> Path:
    """Make the four verified IDX files present in ``root/MNIST/raw``; return that folder.

    Order: files already there; else copies from ``data_dir``; else a torchvision download
    (one attempt) when ``download`` is true. Every file is MD5-verified.
    """
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    missing = [n for n in MNIST_FILES if not (raw / n).is_file()]
    if missing and data_dir is not None:
        src_dir = Path(data_dir)
        if not src_dir.is_dir():
            raise DataError(f"data.data_dir {src_dir} is not a folder. " + _where_to_put(raw))
        for name in list(missing):
            src = _find_in(src_dir, name)
            if src is None:
                continue
            verify_mnist_file(src)
            with atomic_path(raw / name) as tmp:
                shutil.copyfile(src, tmp)
            missing.remove(name)
    if missing and download:
        _download_mnist(Path(root))
        missing = [n for n in MNIST_FILES if not (raw / n).is_file()]
    if missing:
        raise DataError(
            f"MNIST files missing: {', '.join(missing)} (download={'on' if download else 'off'}). "
            + _where_to_put(raw)
        )
    for name in MNIST_FILES:
        verify_mnist_file(raw / name)
    return raw


def _download_mnist(root: Path) -> None:
    """One download attempt through torchvision (which also checks the MD5s)."""
    # only when downloading (measured: importing torchvision costs ~4.4 s)
    from torchvision.datasets import MNIST

    try:
        MNIST(str(root), train=True, download=True)
        MNIST(str(root), train=False, download=True)
    except Exception as exc:  # network errors come in many types
        raise DataError(
            f"downloading MNIST failed ({type(exc).__name__}: {exc}). "
            + _where_to_put(root / "MNIST" / "raw")
        ) from exc


def read_idx(path: Path) -> np.ndarray:
    """Parse one gzipped IDX file strictly (magic number, dimensions, length)."""
    _, magic, shape = MNIST_FILES[path.name]
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{path} is not a valid gzip file ({exc}); delete it and fetch it again"
        ) from exc
    if len(data) < 8:
        raise DataError(f"{path} is too short to be an IDX file; delete it and fetch it again")
    got_magic = struct.unpack(">I", data[:4])[0]
    if got_magic != magic:
        raise DataError(f"{path} has IDX magic number {got_magic}, expected {magic}")
    ndim = magic & 0xFF
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    if tuple(dims) != shape:
        raise DataError(f"{path} has shape {dims}, expected {shape}")
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path} holds {body.size} bytes of data, expected {int(np.prod(shape))}")
    return body.reshape(shape)


def prepare_mnist(
    root: str | os.PathLike,
    data_dir: str | os.PathLike | None,
    download: bool,
    out: str | os.PathLike,
) -> None:
    """Verify (fetching if needed) the raw files and cache them as one uint8 tensor file."""
    raw = fetch_mnist_raw(Path(root), Path(data_dir) if data_dir else None, download)
    arrays = {
        "train_images": read_idx(raw / "train-images-idx3-ubyte.gz"),
        "train_labels": read_idx(raw / "train-labels-idx1-ubyte.gz"),
        "test_images": read_idx(raw / "t10k-images-idx3-ubyte.gz"),
        "test_labels": read_idx(raw / "t10k-labels-idx1-ubyte.gz"),
    }
    tensors = {k: torch.from_numpy(v.copy()) for k, v in arrays.items()}
    with atomic_path(out) as tmp:
        torch.save(tensors, tmp)


def load_mnist_cache(path: str | os.PathLike) -> dict[str, Tensor]:
    """Load the cache written by :func:`prepare_mnist` (``weights_only``: no pickle code)."""
    try:
        d = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:
        raise DataError(
            f"{path} is not a readable MNIST cache ({exc}); delete it and rerun"
        ) from exc
    expected = {
        "train_images": (60000, 28, 28),
        "train_labels": (60000,),
        "test_images": (10000, 28, 28),
        "test_labels": (10000,),
    }
    for key, shape in expected.items():
        if key not in d or tuple(d[key].shape) != shape or d[key].dtype != torch.uint8:
            raise DataError(
                f"{path} lacks a uint8 tensor {key} of shape {shape}; delete it and rerun"
            )
    return d


def make_random_labels(n: int, seed: int, out: str | os.PathLike) -> None:
    """Draw ``n`` labels uniformly from 0..9 with a fixed seed and store them (Parquet)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, size=n, dtype=np.int64)
    df = pd.DataFrame({"index": np.arange(n, dtype=np.int64), "label": labels})
    write_parquet(
        df, out, metadata={"seed": seed, "n_classes": N_CLASSES, "generator": "numpy PCG64"}
    )


def load_random_labels(path: str | os.PathLike, n: int) -> Tensor:
    df = read_parquet(path)
    if len(df) != n or not (df["index"].to_numpy() == np.arange(n)).all():
        raise DataError(f"{path} holds {len(df)} labels, the training set has {n}; rerun its rule")
    return torch.from_numpy(df["label"].to_numpy(np.int64))


def _normalise(images: Tensor) -> Tensor:
    return ((images.float() / 255.0) - MNIST_MEAN) / MNIST_STD


def mnist_tensors(
    cache: str | os.PathLike,
    *,
    train_size: int | None = None,
    test_size: int | None = None,
    random_labels: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Normalised images ``[N,1,28,28]`` and int64 labels, train then test, on ``device``.

    ``train_size``/``test_size`` take the first N examples (for small test configs).
    ``random_labels`` replaces the TRAINING labels only; the test labels stay the true ones.
    """
    d = load_mnist_cache(cache)
    ntr = train_size or 60000
    nte = test_size or 10000
    y_train = d["train_labels"].long()
    if random_labels is not None:
        y_train = load_random_labels(random_labels, 60000)
    x_train = _normalise(d["train_images"][:ntr]).unsqueeze(1)
    x_test = _normalise(d["test_images"][:nte]).unsqueeze(1)
    y_test = d["test_labels"][:nte].long()
    return (x_train.to(device), y_train[:ntr].to(device), x_test.to(device), y_test.to(device))


FUNCTIONS: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "sin_sq": ("5 sin²(x/2)", lambda x: 5.0 * np.sin(x / 2.0) ** 2),
    "cubic_exp": ("x³ e^(x/10) / 15", lambda x: x**3 * np.exp(x / 10.0) / 15.0),
    # np.sinc(t) = sin(πt)/(πt) with the limit 1 at t = 0, so np.sinc(5x) = sin(5πx)/(5πx).
    "sinc": ("sin(5πx) / (5πx)", lambda x: np.sinc(5.0 * x)),
}


def function_grid(name: str, domain: tuple[float, float], n_train: int) -> pd.DataFrame:
    """Training grid of ``n_train`` evenly spaced points on ``domain`` and a test grid of the
    midpoints between neighbouring training points (so no test point is a training point).

    Columns: split (``train``/``test``), x, y (float64).
    """
    if name not in FUNCTIONS:
        raise ValueError(f"unknown function {name!r}; allowed: {sorted(FUNCTIONS)}")
    lo, hi = float(domain[0]), float(domain[1])
    x_train = np.linspace(lo, hi, n_train)
    x_test = (x_train[:-1] + x_train[1:]) / 2.0
    f = FUNCTIONS[name][1]
    return pd.concat(
        [
            pd.DataFrame({"split": "train", "x": x_train, "y": f(x_train)}),
            pd.DataFrame({"split": "test", "x": x_test, "y": f(x_test)}),
        ],
        ignore_index=True,
    )


def write_function_grid(
    name: str, domain: tuple[float, float], n_train: int, out: str | os.PathLike
) -> None:
    df = function_grid(name, domain, n_train)
    write_parquet(
        df,
        out,
        metadata={
            "function": name,
            "formula": FUNCTIONS[name][0],
            "domain": [float(domain[0]), float(domain[1])],
            "n_train": n_train,
        },
    )


def function_tensors(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``[N,1]`` float32 inputs and targets, train then test."""
    df = read_parquet(path)
    out = []
    for split in ("train", "test"):
        part = df[df["split"] == split]
        if part.empty:
            raise DataError(f"{path} has no {split} rows; rerun its rule")
        out.append(torch.tensor(part["x"].to_numpy(), dtype=torch.float32).unsqueeze(1))
        out.append(torch.tensor(part["y"].to_numpy(), dtype=torch.float32).unsqueeze(1))
    return tuple(t.to(device) for t in out)  # type: ignore[return-value]


def function_metadata(path: str | os.PathLike) -> dict:
    return read_metadata(path)
