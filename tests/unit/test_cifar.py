"""CIFAR-10 ready for users with a network: the registry entry, the batch-file reader, the
download path, training and the config checks, on small files in the real CIFAR-10 python
batch format (no network here).

The files are Python-2 pickles (protocol 2, strings as byte strings, numpy's
``numpy.core.multiarray._reconstruct``) of dicts with bytes keys, laid out as torchvision
extracts the archive (``<root>/cifar-10-batches-py/data_batch_1..5, test_batch``); torchvision's
own reader reads them as a cross-check of the format.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import os
import pickle
import shutil
import struct
import tarfile
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pytest
import torch
import yaml

from hw1 import datasets
from hw1.architectures import param_count, spec_of
from hw1.config import ConfigError, validate
from hw1.config.deep_vs_shallow import model_param_counts, param_spread
from hw1.data import DataError, image_tensors, load_cache, md5sum, prepare, read_cifar_batch
from hw1.datasets import CIFAR10, DataFile, registered
from hw1.io import read_metadata, read_parquet
from hw1.jobs.train import run_training_job
from tests.conftest import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
NAME = "cifar10_toy"
PER_BATCH = 8
N_TEST = 12
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
FILES = (*TRAIN_FILES, "test_batch")
FOLDER = "cifar-10-batches-py"


# ---------------------------------------------------------------- files in the real format


class _Py2Pickler(pickle._Pickler):
    """Writes pickles as Python 2's cPickle did (the CIFAR-10 files are such pickles):
    byte and text strings as (SHORT_)BINSTRING, numpy's reconstructor under its old module
    name. (Python 3's pickler writes bytes at protocol 2 as ``_codecs.encode`` calls.)"""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj: bytes) -> None:
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    def save_str(self, obj: str) -> None:
        self.save_bytes(obj.encode("latin-1"))

    def save_global(self, obj, name=None) -> None:
        if getattr(obj, "__name__", None) == "_reconstruct":
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str


def py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def batch_rows(images_hwc: np.ndarray) -> np.ndarray:
    """``[n, 32, 32, 3]`` images as CIFAR-10 rows ``[n, 3072]``: the 1024 red values (row
    by row), then the green, then the blue."""
    n = images_hwc.shape[0]
    planes = [np.ascontiguousarray(images_hwc[..., c]).reshape(n, 1024) for c in range(3)]
    return np.concatenate(planes, axis=1)


def batch_dict(images_hwc: np.ndarray, labels: np.ndarray, label: str) -> dict:
    return {
        b"batch_label": label.encode(),
        b"labels": [int(v) for v in labels],
        b"data": batch_rows(images_hwc),
        b"filenames": [f"img_{label[:5]}_{i:04d}.png".encode() for i in range(len(labels))],
    }


def toy_images(rng: np.random.Generator, n: int) -> np.ndarray:
    """``[n, 32, 32, 3]`` uint8 with channel-dependent ranges (red high, green middle, blue
    low), so that a mix-up of channels changes values and statistics."""
    lo = np.array([128, 64, 0])
    return (lo + rng.integers(0, 128, size=(n, 32, 32, 3))).astype(np.uint8)


def write_toy(top: Path, seed: int = 0) -> SimpleNamespace:
    """The six batch files (and ``batches.meta``) under ``top/cifar-10-batches-py``."""
    rng = np.random.default_rng(seed)
    folder = top / FOLDER
    folder.mkdir(parents=True)
    images, labels = {}, {}
    for i, name in enumerate(FILES):
        n = N_TEST if name == "test_batch" else PER_BATCH
        images[name] = toy_images(rng, n)
        labels[name] = rng.integers(0, 10, size=n)
        label = "testing batch 1 of 1" if name == "test_batch" else f"training batch {i + 1} of 5"
        (folder / name).write_bytes(py2_pickle(batch_dict(images[name], labels[name], label)))
    meta = {b"num_cases_per_batch": PER_BATCH, b"label_names": list(CIFAR10.classes)}
    (folder / "batches.meta").write_bytes(py2_pickle({**meta, b"num_vis": 3072}))
    return SimpleNamespace(top=top, folder=folder, images=images, labels=labels)


def toy_entry(folder: Path, name: str = NAME) -> datasets.Dataset:
    """The CIFAR-10 entry for the files in ``folder``: their MD5s and sizes."""
    return dataclasses.replace(
        CIFAR10,
        name=name,
        title="CIFAR-10 (toy)",
        files=tuple(DataFile(f.name, md5sum(folder / f.name)) for f in CIFAR10.files),
        n_train=5 * PER_BATCH,
        n_test=N_TEST,
    )


def expected(toy: SimpleNamespace, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[N, 3, 32, 32]`` and labels of a split, from what was written."""
    names = TRAIN_FILES if split == "train" else ("test_batch",)
    x = np.concatenate([toy.images[n] for n in names]).transpose(0, 3, 1, 2)
    return x, np.concatenate([toy.labels[n] for n in names])


def torchvision_class(toy: SimpleNamespace) -> type:
    """torchvision's CIFAR10 with the toy files' MD5s in place of the official ones."""
    import torchvision.datasets

    tv = torchvision.datasets.CIFAR10
    md5 = {f.name: f.md5 for f in toy.entry.files}
    lists = {
        "train_list": [[n, md5[n]] for n in TRAIN_FILES],
        "test_list": [["test_batch", md5["test_batch"]]],
        "meta": {**tv.meta, "md5": md5sum(toy.folder / "batches.meta")},
    }
    return type("ToyCIFAR10", (tv,), lists)


@pytest.fixture(scope="module")
def toy_files(tmp_path_factory) -> SimpleNamespace:
    toy = write_toy(tmp_path_factory.mktemp("cifar_src"))
    toy.entry = toy_entry(toy.folder)
    return toy


@pytest.fixture
def toy(toy_files):
    """The toy files' entry, registered for the test."""
    with registered(toy_files.entry):
        yield toy_files


# ---------------------------------------------------------------- reading


def test_prepare_reads_the_batches_as_written(toy, tmp_path):
    out = tmp_path / "cifar10_toy.pt"
    prepare(NAME, tmp_path / "root", toy.top, False, out)
    assert sorted(p.name for p in (tmp_path / "root" / FOLDER).iterdir()) == sorted(FILES)
    ds, d = load_cache(out)
    assert ds is toy.entry and d["name"] == NAME
    for split in ("train", "test"):
        x, y = expected(toy, split)
        got = d[f"{split}_images"]
        assert got.dtype == torch.uint8 and tuple(got.shape) == (len(y), 3, 32, 32)
        np.testing.assert_array_equal(got.numpy(), x)  # batches 1..5 in order; test_batch
        np.testing.assert_array_equal(d[f"{split}_labels"].numpy(), y)
    # channel order, pixel by pixel from the raw rows: red from the first 1024 bytes of a
    # row, green from the next, blue from the last (row-major within each plane)
    row = batch_rows(toy.images["data_batch_2"])[3]
    img = d["train_images"][PER_BATCH + 3].numpy()
    for i, j in ((0, 0), (0, 31), (5, 17), (31, 0), (31, 31)):
        assert [int(img[c, i, j]) for c in range(3)] == [
            int(row[c * 1024 + i * 32 + j]) for c in range(3)
        ]
    # normalised per channel with the registry's statistics
    x, y, xt, yt = image_tensors(out)
    mean = np.array(CIFAR10.mean).reshape(1, 3, 1, 1)
    std = np.array(CIFAR10.std).reshape(1, 3, 1, 1)
    for got, split in ((x, "train"), (xt, "test")):
        want = (expected(toy, split)[0] / 255.0 - mean) / std
        assert got.dtype == torch.float32
        np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=2e-6)
    assert y.dtype == torch.int64 and y.tolist() == expected(toy, "train")[1].tolist()
    assert yt.tolist() == expected(toy, "test")[1].tolist()
    x5, y5, xt5, _ = image_tensors(out, train_size=5, test_size=3)
    assert torch.equal(x5, x[:5]) and torch.equal(y5, y[:5]) and torch.equal(xt5, xt[:3])


def test_torchvision_reads_the_same_files_the_same(toy, tmp_path):
    """The toy files are what torchvision's CIFAR10 reads (its reader, its layout, the toy
    files' MD5s), and it finds the same images and labels as hw1's reader."""
    ToyCIFAR10 = torchvision_class(toy)
    out = tmp_path / "c.pt"
    prepare(NAME, tmp_path / "root", toy.top, False, out)
    _, d = load_cache(out)
    for split in ("train", "test"):
        tv = ToyCIFAR10(str(toy.top), train=split == "train", download=False)
        assert tv.classes == list(CIFAR10.classes)
        np.testing.assert_array_equal(tv.data.transpose(0, 3, 1, 2), d[f"{split}_images"])
        assert tv.targets == d[f"{split}_labels"].tolist()


def test_a_download_lands_where_the_registry_reads(toy, tmp_path, monkeypatch):
    """With download on and nothing local, prepare calls torchvision's CIFAR10 with the
    root, which extracts the archive into root/<its base_folder>: the registry's folder.
    Only the network fetch is faked (it copies a tar.gz of the toy folder)."""
    import torchvision.datasets
    import torchvision.datasets.utils as tvu

    archive = tmp_path / "archive" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        for name in (*FILES, "batches.meta"):
            tar.add(toy.folder / name, arcname=f"{FOLDER}/{name}")
    calls = []

    def fake_download_url(url, root, filename=None, md5=None, **kw):
        calls.append(url)
        shutil.copyfile(archive, Path(root) / (filename or Path(url).name))

    ToyCIFAR10 = torchvision_class(toy)
    monkeypatch.setattr(tvu, "download_url", fake_download_url)
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", ToyCIFAR10)
    assert ToyCIFAR10.base_folder == CIFAR10.folder
    out = tmp_path / "c.pt"
    prepare(NAME, tmp_path / "root", None, True, out)
    assert calls and calls[0].endswith("cifar-10-python.tar.gz")
    _, d = load_cache(out)
    np.testing.assert_array_equal(d["test_images"].numpy(), expected(toy, "test")[0])


# ---------------------------------------------------------------- training


@pytest.mark.parametrize(
    ("model", "first_shape", "n_params"),
    [
        # conv 3->4 (3x3, same padding), 2x2 pool to 16x16, dense 1024->8, 8->10
        (
            {"type": "cnn", "channels": [4], "hidden": [8]},
            (4, 3, 3, 3),
            (4 * 3 * 3 * 3 + 4) + (4 * 16 * 16 * 8 + 8) + (8 * 10 + 10),
        ),
        ({"type": "mlp", "hidden": [8]}, (8, 3 * 32 * 32), 3072 * 8 + 8 + 8 * 10 + 10),
    ],
    ids=["cnn", "mlp"],
)
def test_training_job_on_cifar(toy, tmp_path, model, first_shape, n_params):
    cache = tmp_path / "cifar10_toy.pt"
    prepare(NAME, tmp_path / "root", toy.top, False, cache)
    spec = {
        "experiment": "cnn_depth",
        "variant": datasets.variant_id(NAME, model["type"]),
        "dataset": NAME,
        "model": model,
        "optimizer": "adam",
        "lr": 1e-2,
        "batch_size": 10,
        "epochs": 2,
        "seeds": [0, 1],
        "eval_batch_size": 16,
    }
    outputs = {k: str(tmp_path / "run" / f"{k}.parquet") for k in ("metrics", "steps", "weights")}
    res = run_training_job(
        spec, {"data": str(cache)}, outputs, data_cfg={}, device="cpu", threads=1, graphs=False
    )
    # the network the engine built from the tensors is the one the registry shape gives
    assert res.n_params == param_count(spec_of(spec)) == n_params
    assert res.layout.shapes[0] == first_shape
    assert read_metadata(outputs["metrics"])["n_params"] == n_params
    m = read_parquet(outputs["metrics"])
    assert len(m) == 3 * 2 * 2  # epochs 0..2 x splits x seeds
    assert set(m["seed"]) == {0, 1} and set(m["epoch"]) == {0, 1, 2}
    assert set(m["split"]) == {"train", "test"}
    assert np.isfinite(m["loss"]).all() and not m["diverged"].any()
    assert m["accuracy"].between(0.0, 1.0).all()


# ---------------------------------------------------------------- refusals


class _RunsCommand:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _RunsPython:
    def __init__(self, code: str):
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


def _hostile(kind: str, marker: Path, images: np.ndarray, labels: np.ndarray) -> bytes:
    if kind == "os.system":
        return pickle.dumps(_RunsCommand(f"touch {marker}"), protocol=2)
    if kind == "exec":
        return pickle.dumps(_RunsPython(f"open({str(marker)!r}, 'w').close()"), protocol=2)
    # a well-formed batch whose dict is an OrderedDict: another global, refused all the same
    return py2_pickle(OrderedDict(batch_dict(images, labels, "training batch 2 of 5")))


@pytest.mark.parametrize("kind", ["os.system", "exec", "OrderedDict"])
def test_a_pickle_naming_another_global_is_refused_and_runs_nothing(tmp_path, kind):
    toy = write_toy(tmp_path / "src")
    bad = toy.folder / "data_batch_2"
    marker = tmp_path / "code_ran"
    bad.write_bytes(_hostile(kind, marker, toy.images[bad.name], toy.labels[bad.name]))
    entry = toy_entry(toy.folder, "cifar10_hostile")  # its MD5 listed: only the reader decides
    out = tmp_path / "c.pt"
    with registered(entry), pytest.raises(DataError) as exc:
        prepare(entry.name, tmp_path / "root", toy.top, False, out)
    msg = str(exc.value)
    assert str(tmp_path / "root" / FOLDER / "data_batch_2") in msg
    assert "is not allowed in a data batch file" in msg
    assert not marker.exists() and not out.exists()
    with pytest.raises(DataError, match="data_batch_2 is not a CIFAR-10 batch file"):
        read_cifar_batch(bad, (3, 32, 32))
    assert not marker.exists()


def test_a_corrupt_batch_is_refused_naming_file_and_md5(tmp_path):
    toy = write_toy(tmp_path / "src")
    entry = toy_entry(toy.folder, "cifar10_corrupt")
    bad = toy.folder / "data_batch_3"
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a pixel byte: the pickle still loads, the MD5 differs
    bad.write_bytes(bytes(data))
    want = entry.files[2]
    assert want.name == bad.name
    root = tmp_path / "root"
    with registered(entry):
        with pytest.raises(DataError) as exc:
            prepare(entry.name, root, toy.top, False, tmp_path / "c.pt")
        msg = str(exc.value)
        assert str(bad) in msg and want.md5 in msg and md5sum(bad) in msg
        assert not (root / FOLDER / bad.name).exists()  # nothing unverified is copied
        # a copy gone bad in the root itself (an earlier download) is refused as well
        shutil.copytree(toy.folder, tmp_path / "root2" / FOLDER)
        with pytest.raises(DataError) as exc:
            prepare(entry.name, tmp_path / "root2", None, False, tmp_path / "c.pt")
        msg = str(exc.value)
        assert str(tmp_path / "root2" / FOLDER / bad.name) in msg and want.md5 in msg
    assert not (tmp_path / "c.pt").exists()


# ---------------------------------------------------------------- the registry entry


def test_cifar10_entry_matches_torchvision():
    """Shape, classes, sizes, folder, archive and the six MD5s as torchvision lists them
    (read from the installed torchvision, so the entry cannot drift from it)."""
    import torchvision.datasets

    tv = torchvision.datasets.CIFAR10
    ds = datasets.get("cifar10")
    assert ds is CIFAR10 and ds.format == "cifar" and ds.source == "CIFAR10"
    assert ds.input_shape == (3, 32, 32) and ds.n_classes == 10
    assert ds.classes[:2] == ("airplane", "automobile") and ds.classes[-1] == "truck"
    assert (ds.n_train, ds.n_test) == (50000, 10000)
    assert ds.folder == tv.base_folder
    assert [[f.name, f.md5] for f in ds.files] == [*tv.train_list, *tv.test_list]
    assert tv.filename in ds.archive and tv.tgz_md5 in ds.archive
    assert len(ds.mean) == len(ds.std) == 3


# ---------------------------------------------------------------- config


def _cnn_config(form: str) -> dict:
    """tests/config/smoke.yaml with only its cnn_depth experiment, on CIFAR-10."""
    cfg = yaml.safe_load((REPO / "tests" / "config" / "smoke.yaml").read_text())
    block = copy.deepcopy(cfg["experiments"]["cnn_depth"])
    if form == "datasets":
        del block["train"]["dataset"]
        block["datasets"] = {"cifar10": {}}
    else:
        block["train"]["dataset"] = "cifar10"
    return {**cfg, "experiments": {"cnn_depth": block}}


@pytest.mark.parametrize("form", ["datasets", "train.dataset"])
def test_a_config_on_cifar10_validates_with_its_own_param_counts(form):
    cfg = _cnn_config(form)
    counts = model_param_counts(cfg, "cnn_depth")
    assert list(counts) == ["cifar10"]
    mnist = copy.deepcopy(cfg)
    block = mnist["experiments"]["cnn_depth"]
    block.pop("datasets", None)
    block["train"]["dataset"] = "mnist"
    mnist_counts = model_param_counts(mnist, "cnn_depth")["mnist"]
    cifar = counts["cifar10"]
    assert cifar.keys() == mnist_counts.keys() == {"cnn1", "cnn2", "cnn4"}
    assert all(cifar[v] != mnist_counts[v] for v in cifar)
    # cnn1: conv 3->8 on 32x32, pooled to 16x16, dense 2048->16, 16->10
    assert cifar["cnn1"] == (8 * 3 * 9 + 8) + (8 * 16 * 16 * 16 + 16) + (16 * 10 + 10)
    assert mnist_counts["cnn1"] == (8 * 1 * 9 + 8) + (8 * 14 * 14 * 16 + 16) + (16 * 10 + 10)
    # the size-matching rule applies to the CIFAR-10 counts: refused just below their spread
    spread = param_spread(cifar)
    block = cfg["experiments"]["cnn_depth"]
    block["max_param_spread"] = spread * 0.99
    with pytest.raises(ConfigError, match=r"parameter counts .* on cifar10 differ"):
        validate(copy.deepcopy(cfg), SCHEMA)
    block["max_param_spread"] = max(0.05, spread * 1.01)
    validate(cfg, SCHEMA)
