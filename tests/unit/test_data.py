"""Data-set verification and caching (MNIST, Fashion-MNIST from the registry), function grids:
clear errors for bad data."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
import torch

from hw1.data import (
    DataError,
    fetch_raw,
    function_grid,
    image_tensors,
    load_cache,
    make_random_labels,
    prepare,
)
from hw1.datasets import FASHION_MNIST, MNIST

MNIST_FILES = {f.name: f for f in MNIST.files}


def fetch_mnist_raw(root, data_dir, download):
    return fetch_raw(MNIST, root, data_dir, download)


def copy_raw(mnist_dir, dest):
    raw = dest / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES:
        shutil.copyfile(mnist_dir / "MNIST" / "raw" / name, raw / name)
    return raw


def test_cache_holds_the_official_arrays(mnist_cache):
    ds, d = load_cache(mnist_cache)
    assert ds is MNIST and d["name"] == "mnist"
    assert d["train_images"].shape == (60000, 1, 28, 28)
    assert d["test_labels"].shape == (10000,)
    # the label histogram of the official training set
    counts = torch.bincount(d["train_labels"].long(), minlength=10).tolist()
    assert counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    # test labels are the real ones: all ten classes, not one class
    assert torch.bincount(d["test_labels"].long(), minlength=10).min() > 800


def test_missing_files_without_network_say_where_to_put_them(tmp_path):
    with pytest.raises(DataError) as exc:
        fetch_mnist_raw(tmp_path / "root", None, download=False)
    msg = str(exc.value)
    assert str(tmp_path / "root" / "MNIST" / "raw") in msg
    for name, f in MNIST_FILES.items():
        assert name in msg and f.md5 in msg and f.sha256 in msg


def test_checksum_mismatch_names_file_and_expected_md5(tmp_path, mnist_dir):
    raw = copy_raw(mnist_dir, tmp_path / "src")
    bad = raw / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(bad.read_bytes())
    data[-1] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(DataError) as exc:
        fetch_mnist_raw(tmp_path / "root", tmp_path / "src", download=False)
    msg = str(exc.value)
    assert str(bad) in msg and MNIST_FILES[bad.name].md5 in msg
    assert MNIST_FILES[bad.name].sha256 in msg  # and the content hash it should have
    # nothing half-copied lands in the target folder
    assert not (tmp_path / "root" / "MNIST" / "raw" / bad.name).exists()


def test_truncated_file_is_rejected(tmp_path, mnist_dir):
    raw = copy_raw(mnist_dir, tmp_path)
    f = raw / "train-labels-idx1-ubyte.gz"
    f.write_bytes(f.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz has MD5"):
        prepare("mnist", tmp_path, None, False, tmp_path / "cache.pt")
    assert not (tmp_path / "cache.pt").exists()


def test_bad_gzip_and_wrong_magic_are_named(tmp_path):
    from hw1.data import read_idx

    f = tmp_path / "train-labels-idx1-ubyte.gz"
    f.write_bytes(b"this is not gzip at all")
    with pytest.raises(DataError, match="not a valid gzip"):
        read_idx(f, (60000,))
    with gzip.open(f, "wb") as g:
        g.write((2051).to_bytes(4, "big") + (60000).to_bytes(4, "big") + bytes(60000))
    with pytest.raises(DataError, match="magic number 2051, expected 2049"):
        read_idx(f, (60000,))


def test_data_dir_may_hold_files_directly_or_under_mnist_raw(tmp_path, mnist_dir):
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in MNIST_FILES:
        shutil.copyfile(mnist_dir / "MNIST" / "raw" / name, flat / name)
    raw = fetch_mnist_raw(tmp_path / "root", flat, download=False)
    assert sorted(p.name for p in raw.iterdir()) == sorted(MNIST_FILES)


def test_random_labels_replace_training_labels_only(tmp_path, mnist_cache):
    make_random_labels(60000, 3, tmp_path / "rl.parquet")
    _, y_true, _, yt_true = image_tensors(mnist_cache)
    _, y_rand, _, yt_rand = image_tensors(mnist_cache, random_labels=tmp_path / "rl.parquet")
    assert torch.equal(yt_rand, yt_true)
    changed = (y_rand != y_true).double().mean().item()
    assert 0.88 < changed < 0.92  # uniform labels agree with the truth 1 time in 10
    again = tmp_path / "rl2.parquet"
    make_random_labels(60000, 3, again)
    assert (tmp_path / "rl.parquet").read_bytes() == again.read_bytes()


def test_function_grid_test_points_are_not_training_points():
    df = function_grid("sinc", (-1.0, 1.0), 101)
    tr, te = df[df.split == "train"], df[df.split == "test"]
    assert len(tr) == 101 and len(te) == 100
    assert not set(tr.x).intersection(te.x)
    # sin(5 pi x)/(5 pi x) with its limit 1 at 0
    assert tr[np.isclose(tr.x, 0)].y.item() == pytest.approx(1.0)
    x = 0.13
    assert function_grid("sinc", (x, x + 1), 2).y.iloc[0] == pytest.approx(
        np.sin(5 * np.pi * x) / (5 * np.pi * x)
    )
    assert function_grid("cubic_exp", (2.0, 3.0), 2).y.iloc[0] == pytest.approx(
        8 * np.exp(0.2) / 15
    )
    assert function_grid("sin_sq", (1.0, 2.0), 2).y.iloc[0] == pytest.approx(5 * np.sin(0.5) ** 2)


# ---------------------------------------------------------------- Fashion-MNIST and checksums


def test_fashion_mnist_cache_holds_the_published_data(fashion_cache):
    """The recompressed shared copy passes by content, and holds what was published: the
    first labels, 6,000 / 1,000 images per class and the pixel statistics the registry
    normalises with (computed here from the images themselves)."""
    ds, d = load_cache(fashion_cache)
    assert ds is FASHION_MNIST
    assert d["train_labels"][:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert d["test_labels"][:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert torch.bincount(d["train_labels"].long(), minlength=10).tolist() == [6000] * 10
    assert torch.bincount(d["test_labels"].long(), minlength=10).tolist() == [1000] * 10
    px = d["train_images"].double() / 255.0
    assert px.mean().item() == pytest.approx(FASHION_MNIST.mean[0], abs=5e-5)
    assert px.std().item() == pytest.approx(FASHION_MNIST.std[0], abs=5e-5)
    x, y, xt, _ = image_tensors(fashion_cache, train_size=1000)
    assert x.shape == (1000, 1, 28, 28) and y.shape == (1000,) and xt.shape[0] == 10000
    # normalised with the registry's statistics: mean 0, sd 1 over the whole training set
    full = image_tensors(fashion_cache)[0].double()
    assert full.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert full.std().item() == pytest.approx(1.0, abs=1e-3)


def test_a_file_passes_by_its_md5_or_by_its_content(tmp_path, fashion_dir):
    """A downloaded copy has torchvision's .gz MD5, a recompressed one only the content's
    SHA-256; either passes, a file matching neither is refused naming both checksums."""
    from hw1.data import content_sha256, md5sum, verify_file
    from hw1.datasets import DataFile

    src = fashion_dir / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    entry = FASHION_MNIST.file("test_labels")
    assert md5sum(src) != entry.md5  # the shared copy was recompressed
    assert content_sha256(src) == entry.sha256
    verify_file(src, entry)  # by content
    verify_file(src, DataFile(src.name, md5sum(src), "0" * 64))  # by MD5 alone
    f = tmp_path / src.name
    with gzip.open(src) as g:
        body = bytearray(g.read())
    body[-1] ^= 0xFF
    with gzip.open(f, "wb") as g:
        g.write(bytes(body))
    with pytest.raises(DataError) as exc:
        verify_file(f, entry)
    msg = str(exc.value)
    assert str(f) in msg and entry.md5 in msg and entry.sha256 in msg
    assert md5sum(f) in msg and content_sha256(f) in msg


def test_truncated_fashion_file_is_refused(tmp_path, fashion_dir):
    raw = tmp_path / "copy" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for f in FASHION_MNIST.files:
        shutil.copyfile(fashion_dir / "FashionMNIST" / "raw" / f.name, raw / f.name)
    bad = raw / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz has MD5 \w+ and "):
        prepare("fashion_mnist", tmp_path / "root", tmp_path / "copy", False, tmp_path / "c.pt")
    assert not (tmp_path / "c.pt").exists()


def test_same_named_files_of_two_sets_are_told_apart(tmp_path, fashion_dir):
    """MNIST and Fashion-MNIST files share their names: in a folder holding MNIST's directly
    and Fashion-MNIST's in torchvision's layout, each data set takes its own."""
    mixed = tmp_path / "mixed"
    (mixed / "FashionMNIST" / "raw").mkdir(parents=True)
    for f in MNIST.files:
        shutil.copyfile(fashion_dir / "MNIST" / "raw" / f.name, mixed / f.name)
    for f in FASHION_MNIST.files:
        shutil.copyfile(
            fashion_dir / "FashionMNIST" / "raw" / f.name, mixed / "FashionMNIST" / "raw" / f.name
        )
    root = tmp_path / "root"
    assert fetch_raw(MNIST, root, mixed, download=False) == root / "MNIST" / "raw"
    assert fetch_raw(FASHION_MNIST, root, mixed, download=False) == root / "FashionMNIST" / "raw"
    # Fashion-MNIST files alone (placed directly) are refused for MNIST, naming its checksums
    only = tmp_path / "only"
    only.mkdir()
    for f in FASHION_MNIST.files:
        shutil.copyfile(fashion_dir / "FashionMNIST" / "raw" / f.name, only / f.name)
    with pytest.raises(DataError, match=MNIST.files[0].md5):
        fetch_raw(MNIST, tmp_path / "root2", only, download=False)


def test_missing_fashion_files_say_where_to_put_them(tmp_path):
    with pytest.raises(DataError) as exc:
        fetch_raw(FASHION_MNIST, tmp_path / "root", None, download=False)
    msg = str(exc.value)
    assert "Fashion-MNIST" in msg and str(tmp_path / "root" / "FashionMNIST" / "raw") in msg
    for f in FASHION_MNIST.files:
        assert f.name in msg and f.sha256 in msg


def test_readme_data_set_table_is_the_registry():
    from hw1 import datasets
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    assert datasets.markdown_table() in readme, "regenerate: python -m hw1.datasets"


def test_only_the_registry_names_a_data_set():
    """No module of the package or the workflow names MNIST outside the registry (the data
    sets are data: a new one is one registry entry) — but for hw1.papers, which cites what
    each paper trained on (a citation, read by no data-set logic of its own)."""
    from tests.conftest import REPO

    files = [*(REPO / "src" / "hw1").rglob("*.py"), *(REPO / "workflow").rglob("*")]
    named = [
        str(p.relative_to(REPO))
        for p in files
        if p.is_file()
        and p.name not in ("datasets.py", "papers.py")
        and p.suffix in (".py", ".smk", ".yaml", ".rst", "")
        and "mnist" in p.read_text(errors="ignore").lower()
    ]
    assert not named, named
