"""MNIST verification and caching, function grids: clear errors for bad data."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
import torch

from hw1.data import (
    MNIST_FILES,
    DataError,
    fetch_mnist_raw,
    function_grid,
    load_mnist_cache,
    make_random_labels,
    mnist_tensors,
    prepare_mnist,
)


def copy_raw(mnist_dir, dest):
    raw = dest / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES:
        shutil.copyfile(mnist_dir / "MNIST" / "raw" / name, raw / name)
    return raw


def test_cache_holds_the_official_arrays(mnist_cache):
    d = load_mnist_cache(mnist_cache)
    assert d["train_images"].shape == (60000, 28, 28)
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
    for name, (md5, _, _) in MNIST_FILES.items():
        assert name in msg and md5 in msg


def test_checksum_mismatch_names_file_and_expected_md5(tmp_path, mnist_dir):
    raw = copy_raw(mnist_dir, tmp_path / "src")
    bad = raw / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(bad.read_bytes())
    data[-1] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(DataError) as exc:
        fetch_mnist_raw(tmp_path / "root", tmp_path / "src", download=False)
    msg = str(exc.value)
    assert str(bad) in msg and MNIST_FILES[bad.name][0] in msg
    # nothing half-copied lands in the target folder
    assert not (tmp_path / "root" / "MNIST" / "raw" / bad.name).exists()


def test_truncated_file_is_rejected(tmp_path, mnist_dir):
    raw = copy_raw(mnist_dir, tmp_path)
    f = raw / "train-labels-idx1-ubyte.gz"
    f.write_bytes(f.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz has MD5"):
        prepare_mnist(tmp_path, None, False, tmp_path / "cache.pt")
    assert not (tmp_path / "cache.pt").exists()


def test_bad_gzip_and_wrong_magic_are_named(tmp_path):
    from hw1.data import read_idx

    f = tmp_path / "train-labels-idx1-ubyte.gz"
    f.write_bytes(b"this is not gzip at all")
    with pytest.raises(DataError, match="not a valid gzip"):
        read_idx(f)
    with gzip.open(f, "wb") as g:
        g.write((2051).to_bytes(4, "big") + (60000).to_bytes(4, "big") + bytes(60000))
    with pytest.raises(DataError, match="magic number 2051, expected 2049"):
        read_idx(f)


def test_data_dir_may_hold_files_directly_or_under_mnist_raw(tmp_path, mnist_dir):
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in MNIST_FILES:
        shutil.copyfile(mnist_dir / "MNIST" / "raw" / name, flat / name)
    raw = fetch_mnist_raw(tmp_path / "root", flat, download=False)
    assert sorted(p.name for p in raw.iterdir()) == sorted(MNIST_FILES)


def test_random_labels_replace_training_labels_only(tmp_path, mnist_cache):
    make_random_labels(60000, 3, tmp_path / "rl.parquet")
    _, y_true, _, yt_true = mnist_tensors(mnist_cache)
    _, y_rand, _, yt_rand = mnist_tensors(mnist_cache, random_labels=tmp_path / "rl.parquet")
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
