"""Shared fixtures: repository paths, the shared MNIST copy, tiny data sets."""

from __future__ import annotations

import os
import shutil
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


def _raw_files(folder: str, hint: str) -> Path:
    """The folder holding ``<folder>/raw/*.gz`` (the shared copy, or $HW1_MNIST_DIR)."""
    if not (SHARED_MNIST / folder / "raw" / "train-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"{folder} not found under {SHARED_MNIST}/{folder}/raw; {hint}")
    return SHARED_MNIST


def _cache(tmp_path_factory, name: str, source: Path) -> Path:
    """The verified tensor cache of data set ``name``, built once per test session."""
    from hw1.data import prepare

    out = tmp_path_factory.mktemp(name) / f"{name}.pt"
    prepare(name, out.parent / "root", source, False, out)
    return out


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """Folder holding MNIST/raw/*.gz."""
    hint = "set HW1_MNIST_DIR to a folder holding MNIST/raw/ with the four official .gz files"
    return _raw_files("MNIST", hint)


@pytest.fixture(scope="session")
def mnist_cache(tmp_path_factory, mnist_dir) -> Path:
    return _cache(tmp_path_factory, "mnist", mnist_dir)


@pytest.fixture(scope="session")
def fashion_dir(mnist_dir) -> Path:
    """Folder holding FashionMNIST/raw/*.gz (beside MNIST in the shared copy)."""
    hint = (
        "copy ../shared/data/FashionMNIST there (as .ci/run does) or set HW1_MNIST_DIR to a "
        "folder holding both MNIST/raw/ and FashionMNIST/raw/"
    )
    return _raw_files("FashionMNIST", hint)


@pytest.fixture(scope="session")
def fashion_cache(tmp_path_factory, fashion_dir) -> Path:
    return _cache(tmp_path_factory, "fashion_mnist", fashion_dir)


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
    # the plan of this first run (its jobs' expected seconds), before later runs replace it
    shutil.copy(workdir / ".snakemake" / "hw1_plan.json", workdir / "first_plan.json")
    return workdir, cfg, dry.stdout + dry.stderr, run
