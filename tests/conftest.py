"""Shared fixtures: repository paths, the shared MNIST copy, tiny data sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def _mnist_source() -> Path:
    """$HW1_MNIST_DIR, else the project's resources/ (where .ci/run copies the files),
    else the shared copy beside the checkout: a folder holding MNIST/raw/ and
    FashionMNIST/raw/ (torchvision's layout)."""
    if os.environ.get("HW1_MNIST_DIR"):
        return Path(os.environ["HW1_MNIST_DIR"])
    for cand in (REPO / "resources", REPO.parent / "shared" / "data"):
        if all(
            (cand / folder / "raw" / "train-images-idx3-ubyte.gz").is_file()
            for folder in ("MNIST", "FashionMNIST")
        ):
            return cand
    return REPO / "resources"


SHARED_MNIST = _mnist_source()


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """Folder holding MNIST/raw/*.gz (the shared copy, or $HW1_MNIST_DIR)."""
    if not (SHARED_MNIST / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file():
        pytest.fail(
            f"MNIST not found under {SHARED_MNIST}/MNIST/raw; set HW1_MNIST_DIR to a folder "
            "holding MNIST/raw/ with the four official .gz files"
        )
    return SHARED_MNIST


@pytest.fixture(scope="session")
def mnist_cache(tmp_path_factory, mnist_dir) -> Path:
    """The verified MNIST tensor cache, built once per test session."""
    from hw1.data import prepare

    out = tmp_path_factory.mktemp("mnist") / "mnist.pt"
    prepare("mnist", out.parent / "root", mnist_dir, False, out)
    return out


@pytest.fixture(scope="session")
def fashion_dir(mnist_dir) -> Path:
    """Folder holding FashionMNIST/raw/*.gz (beside MNIST in the shared copy)."""
    if not (mnist_dir / "FashionMNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file():
        pytest.fail(
            f"Fashion-MNIST not found under {mnist_dir}/FashionMNIST/raw; copy "
            "../shared/data/FashionMNIST there (as .ci/run does) or set HW1_MNIST_DIR to a "
            "folder holding both MNIST/raw/ and FashionMNIST/raw/"
        )
    return mnist_dir


@pytest.fixture(scope="session")
def fashion_cache(tmp_path_factory, fashion_dir) -> Path:
    """The verified Fashion-MNIST tensor cache, built once per test session."""
    from hw1.data import prepare

    out = tmp_path_factory.mktemp("fashion") / "fashion_mnist.pt"
    prepare("fashion_mnist", out.parent / "root", fashion_dir, False, out)
    return out


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, mnist_dir):
    """A full smoke run of the default target in a fresh temp dir (shared by the workflow
    and report tests)."""
    from tests.workflow.wf import smoke_config, snakemake, write_config

    workdir = tmp_path_factory.mktemp("smoke")
    cfg = smoke_config(mnist_dir)
    write_config(workdir, cfg)
    dry = snakemake(workdir, "-n")
    run = snakemake(workdir)
    return workdir, cfg, dry.stdout + dry.stderr, run
