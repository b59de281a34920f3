"""Adding a data set is one entry: a toy 4-class set of 8x8 images in MNIST's IDX format,
registered with :func:`hw1.datasets.registered`, goes through the whole study — config
checks, prepare, training (true and random labels), table, figure and summary — with no
other change.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import struct
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import yaml

from hw1 import datasets
from hw1.architectures import param_count, spec_of
from hw1.catalogue import figure
from hw1.config import ConfigError, expand_variants, validate
from hw1.data import (
    DataError,
    load_cache,
    load_random_labels,
    md5sum,
    prepare,
    random_labels_for,
)
from hw1.datasets import IDX_NAMES, ROLES, DataFile, Dataset, registered
from hw1.figures import render
from hw1.figures.common import full_style
from hw1.io import read_parquet
from hw1.jobs.train import load_data, run_training_job
from hw1.runs import RUN_FILES
from hw1.summaries import summarize
from hw1.tables import build_table
from hw1.trainspec import TrainSpec
from tests.conftest import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
NAME = "toy4"
TITLE = "Toy quadrants"
N_TRAIN, N_TEST, SIDE = 60, 20, 8
CLASSES = ("top left", "top right", "bottom left", "bottom right")
VARIANTS = {"h4": [4], "h32": [32], "h512": [512]}  # 280 to 35,332 parameters: > 2 decades
PVG = "params_vs_generalization"


# ---------------------------------------------------------------- the toy files and entry


def toy_split(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images of faint noise with the quadrant of their class lit, balanced classes."""
    labels = rng.permutation(np.arange(n) % 4).astype(np.uint8)
    x = rng.integers(0, 60, size=(n, SIDE, SIDE))
    half = SIDE // 2
    for k in range(4):
        r, c = divmod(k, 2)
        x[labels == k, r * half : (r + 1) * half, c * half : (c + 1) * half] += 150
    return x.astype(np.uint8), labels


def idx_bytes(arr: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: big-endian magic (2051 images, 2049 labels), the
    dimensions, the data."""
    magic = {3: 2051, 1: 2049}[arr.ndim]
    return struct.pack(f">I{arr.ndim}I", magic, *arr.shape) + arr.tobytes()


def write_toy(data_dir: Path) -> SimpleNamespace:
    """The four gzipped IDX files in torchvision's layout (``<data_dir>/Toy/raw``) and the
    registry entry describing them."""
    rng = np.random.default_rng(0)
    arrays = {}
    arrays["train_images"], arrays["train_labels"] = toy_split(rng, N_TRAIN)
    arrays["test_images"], arrays["test_labels"] = toy_split(rng, N_TEST)
    raw = data_dir / "Toy" / "raw"
    raw.mkdir(parents=True)
    files = []
    for name, role in zip(IDX_NAMES, ROLES, strict=True):
        body = idx_bytes(arrays[role])
        (raw / name).write_bytes(gzip.compress(body, mtime=0))
        files.append(DataFile(name, md5sum(raw / name), hashlib.sha256(body).hexdigest(), role))
    px = arrays["train_images"] / 255.0
    entry = Dataset(
        name=NAME,
        title=TITLE,
        format="idx",
        folder="Toy/raw",
        files=tuple(files),
        input_shape=(1, SIDE, SIDE),
        classes=CLASSES,
        n_train=N_TRAIN,
        n_test=N_TEST,
        mean=(float(px.mean()),),
        std=(float(px.std()),),
        source="",
        about="8x8 noise with one quadrant lit per class (a test set)",
    )
    return SimpleNamespace(data_dir=data_dir, raw=raw, arrays=arrays, entry=entry)


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> SimpleNamespace:
    return write_toy(tmp_path_factory.mktemp("toy_src") / "data")


def toy_config(data_dir: Path | None) -> dict:
    """tests/config/smoke.yaml trimmed to two Part 1-3 experiments on the toy set."""
    cfg = yaml.safe_load((REPO / "tests" / "config" / "smoke.yaml").read_text())
    cfg["data"].update(data_dir=str(data_dir), train_size=None, test_size=None)
    pvg = copy.deepcopy(cfg["experiments"][PVG])
    pvg["datasets"] = {NAME: {}}
    pvg["train"].update(batch_size=20, epochs=20, lr=0.01)
    pvg["variants"] = {v: {"model": {"type": "mlp", "hidden": h}} for v, h in VARIANTS.items()}
    rl = copy.deepcopy(cfg["experiments"]["random_labels"])
    del rl["train"]["dataset"]
    rl["datasets"] = {NAME: {}}
    rl["train"].update(batch_size=20, epochs=5)
    cfg["experiments"] = {PVG: pvg, "random_labels": rl}
    return cfg


def summary_config(cfg: dict) -> dict:
    return {
        "data": cfg["data"],
        "functions": cfg["functions"],
        "experiments": {PVG: cfg["experiments"][PVG]},
    }


# ---------------------------------------------------------------- the study on it


@pytest.fixture(scope="module")
def study(toy, tmp_path_factory) -> SimpleNamespace:
    """What the workflow does for the toy set, step by step, in a temp dir: prepare, random
    labels, every variant's training job, the table, the figure, the summary."""
    out = tmp_path_factory.mktemp("toy_study")
    cfg = toy_config(toy.data_dir)
    with registered(toy.entry):
        validate(cfg, SCHEMA)
        d = cfg["data"]
        cache = out / datasets.cache_path(NAME)
        prepare(NAME, out / d["root"], d["data_dir"], d["download"], cache)
        labels = out / datasets.random_labels_path(NAME)
        random_labels_for(NAME, d["random_label_seed"], labels)
        runs = {}
        for exp, variants in expand_variants(cfg).items():
            for vid, spec in variants.items():
                inputs = {"data": str(cache)}
                if spec["labels"] == "random":
                    inputs["random_labels"] = str(labels)
                outputs = {k: str(out / "runs" / exp / vid / f"{k}.parquet") for k in RUN_FILES}
                res = run_training_job(
                    spec, inputs, outputs, data_cfg=d, device="cpu", threads=1, graphs=False
                )
                runs[vid] = SimpleNamespace(spec=spec, inputs=inputs, outputs=outputs, result=res)
        table_path = out / "tables" / f"{PVG}.parquet"
        metrics = [runs[datasets.variant_id(NAME, v)].outputs["metrics"] for v in VARIANTS]
        table = build_table(PVG, {"metrics": metrics}, table_path)
        style = cfg["figures"][PVG]
        png, pdf = out / "figures" / f"{PVG}.png", out / "figures" / f"{PVG}.pdf"
        render(PVG, table_path, png, pdf, style)
        fig = figure(PVG).plot_fn()(table, full_style(style))
        titles = [ax.get_title() for ax in fig.axes]
        plt.close(fig)
        summary = summarize(PVG, read_parquet(table_path), summary_config(cfg))
    return SimpleNamespace(
        out=out,
        cfg=cfg,
        cache=cache,
        labels=labels,
        runs=runs,
        table=table,
        png=png,
        pdf=pdf,
        titles=titles,
        summary=summary,
    )


def test_prepare_copies_the_files_and_caches_the_arrays(toy, study):
    d = study.cfg["data"]
    raw = study.out / d["root"] / "Toy" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(IDX_NAMES)
    for name in IDX_NAMES:
        assert (raw / name).read_bytes() == (toy.raw / name).read_bytes()
    with registered(toy.entry):
        ds, arrays = load_cache(study.cache)
    assert ds is toy.entry and arrays["name"] == NAME
    for role in ROLES:
        got = arrays[role]
        assert got.dtype == torch.uint8
        want = toy.arrays[role]
        if role.endswith("images"):
            assert tuple(got.shape) == (len(want), 1, SIDE, SIDE)
            want = want[:, None]
        np.testing.assert_array_equal(got.numpy(), want)


def test_a_recompressed_copy_passes_by_content_a_changed_one_does_not(toy, tmp_path):
    src = tmp_path / "copy" / "Toy" / "raw"
    src.mkdir(parents=True)
    for name in IDX_NAMES:
        body = gzip.decompress((toy.raw / name).read_bytes())
        (src / name).write_bytes(gzip.compress(body, compresslevel=1, mtime=12345))
        assert md5sum(src / name) != toy.entry.files[IDX_NAMES.index(name)].md5
    with registered(toy.entry):
        prepare(NAME, tmp_path / "root", tmp_path / "copy", False, tmp_path / "c.pt")
        _, arrays = load_cache(tmp_path / "c.pt")
        np.testing.assert_array_equal(arrays["test_labels"].numpy(), toy.arrays["test_labels"])
        bad = src / IDX_NAMES[3]
        body = bytearray(gzip.decompress(bad.read_bytes()))
        body[-1] = (body[-1] + 1) % 4  # another label, still a valid IDX file
        bad.write_bytes(gzip.compress(bytes(body)))
        with pytest.raises(DataError) as exc:
            prepare(NAME, tmp_path / "root2", tmp_path / "copy", False, tmp_path / "c2.pt")
    entry = toy.entry.file("test_labels")
    msg = str(exc.value)
    assert str(bad) in msg and entry.md5 in msg and entry.sha256 in msg
    assert not (tmp_path / "c2.pt").exists()


def test_training_jobs_on_the_toy_set(toy, study):
    for v, hidden in VARIANTS.items():
        run = study.runs[datasets.variant_id(NAME, v)]
        h = hidden[0]
        with registered(toy.entry):
            n = param_count(spec_of(run.spec))  # from the entry's input shape and classes
        assert run.result.n_params == n == (SIDE * SIDE * h + h) + (h * 4 + 4)
        m = read_parquet(run.outputs["metrics"])
        assert set(m["seed"]) == {0, 1} and m["epoch"].max() == 20
        assert np.isfinite(m["loss"]).all() and m["accuracy"].between(0, 1).all()
    # the quadrants are learnt: the widest net fits the training set and beats chance (1/4)
    m = read_parquet(study.runs[datasets.variant_id(NAME, "h512")].outputs["metrics"])
    last = m[m["epoch"] == 20].groupby("split")["accuracy"].mean()
    assert last["train"] == 1.0 and last["test"] >= 0.8


def test_random_labels_come_from_the_entry(toy, study):
    """The random training labels have one per training image, drawn from the toy set's 4
    classes; the random-label job trains on them and tests on the true labels."""
    y = load_random_labels(study.labels, N_TRAIN)
    assert sorted(set(y.tolist())) == [0, 1, 2, 3]
    assert (y.numpy() != toy.arrays["train_labels"]).any()
    run = study.runs[datasets.variant_id(NAME, "random")]
    assert run.spec["labels"] == "random"
    with registered(toy.entry):
        data = load_data(TrainSpec.from_dict(run.spec), run.inputs, study.cfg["data"], "cpu")
    assert torch.equal(data.y_train, y)
    assert data.y_test.tolist() == toy.arrays["test_labels"].tolist()
    m = read_parquet(run.outputs["metrics"])
    assert np.isfinite(m["loss"]).all() and len(m) == (5 + 1) * 2 * len(run.spec["seeds"])


def test_table_names_the_data_set_and_the_models(study):
    df = study.table
    assert set(df["dataset"]) == {NAME}
    assert list(dict.fromkeys(df["model"])) == list(VARIANTS)  # own names, not toy4-h4
    assert datasets.variant_id(NAME, "h4") == "toy4-h4"
    assert len(df) == len(VARIANTS) * 2 * 2
    run = study.runs[datasets.variant_id(NAME, "h32")]
    m = read_parquet(run.outputs["metrics"])
    fin = m[m["epoch"] == 20].set_index(["seed", "split"])
    for _, r in df[df["model"] == "h32"].iterrows():
        assert r["loss"] == fin.loc[(r["seed"], r["split"]), "loss"]
        assert r["params"] == run.result.n_params


def test_figure_is_drawn_with_the_entry_title(study):
    assert study.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert study.pdf.read_bytes()[:5] == b"%PDF-"
    assert f"{TITLE}: final loss" in study.titles and f"{TITLE}: final accuracy" in study.titles


def test_summary_names_the_data_set_by_its_title(study):
    s = study.summary
    assert set(s.numbers["data set"]) == {TITLE}
    assert list(s.numbers["model"]) == list(VARIANTS)
    assert f"data: {TITLE}, 60 of 60 training and 20 of 20 test images" in s.settings
    assert "h512" in s.observation


# ---------------------------------------------------------------- parse-time checks


def test_config_naming_the_toy_set_is_checked_against_the_registry(toy):
    cfg = toy_config(toy.data_dir)
    with registered(toy.entry):
        validate(copy.deepcopy(cfg), SCHEMA)
        big = copy.deepcopy(cfg)
        big["data"]["train_size"] = N_TRAIN + 1
        with pytest.raises(ConfigError) as exc:
            validate(big, SCHEMA)
        assert f"config key data.train_size: {N_TRAIN + 1} is more than the {N_TRAIN}" in str(
            exc.value
        )
        assert TITLE in str(exc.value)
    assert not datasets.is_dataset(NAME)
    with pytest.raises(ConfigError) as exc:
        validate(copy.deepcopy(cfg), SCHEMA)
    msg = str(exc.value)
    for exp in (PVG, "random_labels"):
        assert f"config key experiments.{exp}.datasets: dataset {NAME!r} is unknown" in msg
