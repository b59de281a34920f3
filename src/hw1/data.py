"""Data sets: image sets from the registry (verified, cached as one tensor file), random
labels, 1-D function grids.

Which data sets exist, their files, checksums, shapes and normalisation is the registry's
(:mod:`hw1.datasets`); this module fetches, verifies and reads them. A file is accepted when
its MD5 is the one torchvision lists or the SHA-256 of its decompressed content is the
registry's (a recompressed copy holds the same data). Each set is cached as a single
``torch.save`` file of uint8 tensors that loads in well under a second. Everything here works
without a network when the files are given.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from hw1.datasets import DataFile, Dataset, get
from hw1.io import atomic_path, read_metadata, read_parquet, write_parquet

# IDX magic numbers: unsigned bytes, 1 dimension (labels) or 3 (images).
IDX_MAGIC = {1: 2049, 3: 2051}


class DataError(RuntimeError):
    """Missing, corrupt or inconsistent input data; the message says what to do."""


def md5sum(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_sha256(path: Path) -> str:
    """SHA-256 of a file's content, decompressed first when it is gzipped (``.gz``)."""
    h = hashlib.sha256()
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except (OSError, EOFError, zlib.error) as exc:
        return f"unreadable ({type(exc).__name__}: {exc})"
    return h.hexdigest()


def _expected(f: DataFile) -> str:
    return f"MD5 {f.md5}" + (f" or decompressed SHA-256 {f.sha256}" if f.sha256 else "")


def verify_file(path: Path, entry: DataFile) -> None:
    """Raise :class:`DataError` naming ``path``, its checksums and the expected ones unless
    its MD5 is the listed one or its decompressed content has the listed SHA-256."""
    got = md5sum(path)
    if got == entry.md5:
        return
    sha = content_sha256(path) if entry.sha256 else ""
    if entry.sha256 and sha == entry.sha256:
        return
    have = f"MD5 {got}" + (f" and decompressed SHA-256 {sha}" if sha else "")
    raise DataError(
        f"{path} has {have}; expected {_expected(entry)} (the official file). It is "
        "truncated, corrupt or another file: delete it and copy or download it again."
    )


def _where_to_put(ds: Dataset, raw_dir: Path) -> str:
    names = "\n".join(f"  {f.name}  ({_expected(f)})" for f in ds.files)
    return (
        f"Put these files of {ds.title} into {raw_dir}/ (or set data.data_dir in the config "
        f"to a folder that holds them under {ds.folder}/):\n{names}"
    )


def _candidates(data_dir: Path, ds: Dataset, name: str) -> list[Path]:
    """Where a file of ``ds`` may lie in a user's folder: torchvision's layout, the data
    set's own folder, or directly (verification tells same-named files of two sets apart)."""
    top = ds.folder.split("/")[0]
    cands = [data_dir / ds.folder / name, data_dir / top / name, data_dir / "raw" / name]
    cands.append(data_dir / name)
    return [c for c in dict.fromkeys(cands) if c.is_file()]


def _copy_verified(data_dir: Path, ds: Dataset, f: DataFile, dest: Path) -> bool:
    cands = _candidates(data_dir, ds, f.name)
    errors = []
    for src in cands:
        try:
            verify_file(src, f)
        except DataError as exc:
            errors.append(exc)
            continue
        with atomic_path(dest) as tmp:
            shutil.copyfile(src, tmp)
        return True
    if errors:
        raise errors[0]
    return False


def fetch_raw(ds: Dataset, root: Path, data_dir: Path | None, download: bool) -> Path:
    """Make the verified files of ``ds`` present in ``root/<ds.folder>``; return that folder.

    Order: files already there; else copies from ``data_dir``; else a torchvision download
    (one attempt) when ``download`` is true. Every file is verified.
    """
    raw = Path(root) / ds.folder
    raw.mkdir(parents=True, exist_ok=True)
    missing = [f for f in ds.files if not (raw / f.name).is_file()]
    if missing and data_dir is not None:
        src_dir = Path(data_dir)
        if not src_dir.is_dir():
            raise DataError(f"data.data_dir {src_dir} is not a folder. " + _where_to_put(ds, raw))
        missing = [f for f in missing if not _copy_verified(src_dir, ds, f, raw / f.name)]
    if missing and download:
        _download(ds, Path(root))
        missing = [f for f in ds.files if not (raw / f.name).is_file()]
    if missing:
        raise DataError(
            f"{ds.title} files missing: {', '.join(f.name for f in missing)} "
            f"(download={'on' if download else 'off'}). " + _where_to_put(ds, raw)
        )
    for f in ds.files:
        verify_file(raw / f.name, f)
    return raw


def _download(ds: Dataset, root: Path) -> None:
    """One download attempt through torchvision (which also checks the MD5s)."""
    if not ds.source:
        return
    # only when downloading (measured: importing torchvision costs ~4.4 s)
    import torchvision.datasets

    cls = getattr(torchvision.datasets, ds.source)
    try:
        cls(str(root), train=True, download=True)
        cls(str(root), train=False, download=True)
    except Exception as exc:  # network errors come in many types
        raise DataError(
            f"downloading {ds.title} failed ({type(exc).__name__}: {exc}). "
            + _where_to_put(ds, root / ds.folder)
        ) from exc


def read_idx(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """Parse one gzipped IDX file of unsigned bytes strictly (magic number, dimensions,
    length); ``shape`` is what the registry says it holds."""
    magic = IDX_MAGIC[len(shape)]
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


def _read_idx_set(ds: Dataset, raw: Path) -> dict[str, np.ndarray]:
    c, h, w = ds.input_shape
    shapes = {
        "train_images": (ds.n_train, h, w),
        "train_labels": (ds.n_train,),
        "test_images": (ds.n_test, h, w),
        "test_labels": (ds.n_test,),
    }
    out = {}
    for role, shape in shapes.items():
        arr = read_idx(raw / ds.file(role).name, shape)
        out[role] = arr.reshape(shape[0], c, h, w) if role.endswith("images") else arr
    return out


class _ArrayUnpickler(pickle.Unpickler):
    """Reads the CIFAR-10 batch files (python pickles) allowing only what they hold — dicts,
    lists, bytes and numpy arrays — so that no pickle can run code."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a data batch file")


def read_cifar_batch(
    path: Path, image_shape: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[n, C, H, W]`` uint8 and labels ``[n]`` of one CIFAR-10 batch file."""
    try:
        with open(path, "rb") as f:
            d = _ArrayUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise DataError(f"{path} is not a CIFAR-10 batch file ({exc}); fetch it again") from exc
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise DataError(f"{path} lacks the data and labels of a CIFAR-10 batch; fetch it again")
    data = np.asarray(d[b"data"], dtype=np.uint8)
    labels = np.asarray(d[b"labels"], dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise DataError(
            f"{path} holds labels from {labels.min()} to {labels.max()}, not class indices"
        )
    labels = labels.astype(np.uint8)
    per = int(np.prod(image_shape))
    if data.ndim != 2 or data.shape[1] != per or data.shape[0] != labels.shape[0]:
        raise DataError(
            f"{path} holds data of shape {data.shape} and {labels.shape[0]} labels; expected "
            f"[n, {per}] and n labels"
        )
    return data.reshape(-1, *image_shape), labels


def _read_cifar_set(ds: Dataset, raw: Path) -> dict[str, np.ndarray]:
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"train": [], "test": []}
    for f in ds.files:
        parts["test" if f.name.startswith("test") else "train"].append(
            read_cifar_batch(raw / f.name, ds.input_shape)
        )
    out = {}
    for split, n in (("train", ds.n_train), ("test", ds.n_test)):
        x = np.concatenate([p[0] for p in parts[split]])
        y = np.concatenate([p[1] for p in parts[split]])
        if x.shape[0] != n:
            raise DataError(
                f"{ds.title} {split} batches in {raw} hold {x.shape[0]} images, expected {n}"
            )
        out[f"{split}_images"], out[f"{split}_labels"] = x, y
    return out


READERS: dict[str, Callable[[Dataset, Path], dict[str, np.ndarray]]] = {
    "idx": _read_idx_set,
    "cifar": _read_cifar_set,
}


def prepare(
    name: str,
    root: str | os.PathLike,
    data_dir: str | os.PathLike | None,
    download: bool,
    out: str | os.PathLike,
) -> None:
    """Verify (fetching if needed) the files of data set ``name`` and cache its four arrays
    as one file of uint8 tensors (images ``[N, C, H, W]``) with the data set's name."""
    ds = get(name)
    raw = fetch_raw(ds, Path(root), Path(data_dir) if data_dir else None, download)
    arrays = READERS[ds.format](ds, raw)
    for split in ("train", "test"):
        bad = [int(v) for v in np.unique(arrays[f"{split}_labels"]) if v >= ds.n_classes]
        if bad:
            raise DataError(
                f"{ds.title} {split} labels {bad} exceed its {ds.n_classes} classes ({raw})"
            )
    cache: dict[str, Any] = {k: torch.from_numpy(np.array(v, order="C")) for k, v in arrays.items()}
    cache["name"] = name
    with atomic_path(out) as tmp:
        torch.save(cache, tmp)


def load_cache(path: str | os.PathLike) -> tuple[Dataset, dict[str, Tensor]]:
    """The registry entry and arrays of a cache written by :func:`prepare` (``weights_only``:
    no pickle code), checked against the registry's shapes."""
    try:
        d = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:
        raise DataError(
            f"{path} is not a readable data-set cache ({exc}); delete it and rerun"
        ) from exc
    if not isinstance(d, dict) or not isinstance(d.get("name"), str):
        raise DataError(f"{path} is no data-set cache of this version; delete it and rerun")
    try:
        ds = get(d["name"])
    except KeyError as exc:
        raise DataError(f"{path} holds data set {d['name']!r}: {exc.args[0]}") from None
    expected = {
        "train_images": (ds.n_train, *ds.input_shape),
        "train_labels": (ds.n_train,),
        "test_images": (ds.n_test, *ds.input_shape),
        "test_labels": (ds.n_test,),
    }
    for key, shape in expected.items():
        if key not in d or tuple(d[key].shape) != shape or d[key].dtype != torch.uint8:
            raise DataError(
                f"{path} lacks a uint8 tensor {key} of shape {shape}; delete it and rerun"
            )
    return ds, d


def make_random_labels(n: int, seed: int, out: str | os.PathLike, n_classes: int = 10) -> None:
    """Draw ``n`` labels uniformly from ``0..n_classes-1`` with a fixed seed; store them."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, size=n, dtype=np.int64)
    df = pd.DataFrame({"index": np.arange(n, dtype=np.int64), "label": labels})
    write_parquet(
        df, out, metadata={"seed": seed, "n_classes": n_classes, "generator": "numpy PCG64"}
    )


def random_labels_for(name: str, seed: int, out: str | os.PathLike) -> None:
    """The fixed random training labels of data set ``name`` (one per training image)."""
    ds = get(name)
    make_random_labels(ds.n_train, seed, out, ds.n_classes)


def load_random_labels(path: str | os.PathLike, n: int) -> Tensor:
    df = read_parquet(path)
    if len(df) != n or not (df["index"].to_numpy() == np.arange(n)).all():
        raise DataError(f"{path} holds {len(df)} labels, the training set has {n}; rerun its rule")
    return torch.from_numpy(df["label"].to_numpy(np.int64))


def normalise(images: Tensor, ds: Dataset) -> Tensor:
    """uint8 images ``[N, C, H, W]`` as float32 scaled to [0, 1] and standardised per
    channel with the registry's training-set mean and std."""
    x = images.float() / 255.0
    for c, (m, s) in enumerate(zip(ds.mean, ds.std, strict=True)):
        x[:, c] = (x[:, c] - m) / s
    return x


def image_tensors(
    cache: str | os.PathLike,
    *,
    train_size: int | None = None,
    test_size: int | None = None,
    random_labels: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Normalised images ``[N, C, H, W]`` and int64 labels, train then test, on ``device``.

    ``train_size``/``test_size`` take the first N examples (for small test configs).
    ``random_labels`` replaces the TRAINING labels only; the test labels stay the true ones.
    """
    ds, d = load_cache(cache)
    ntr = train_size or ds.n_train
    nte = test_size or ds.n_test
    y_train = d["train_labels"].long()
    if random_labels is not None:
        y_train = load_random_labels(random_labels, ds.n_train)
    x_train = normalise(d["train_images"][:ntr], ds)
    x_test = normalise(d["test_images"][:nte], ds)
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
