"""Faults: killed jobs resume to the same numbers, writers never leave half files, reruns
are bitwise identical on CPU."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO
from tests.workflow.wf import snakemake_cmd

pytestmark = pytest.mark.workflow


def tiny_config(workdir: Path, epochs: int = 300) -> Path:
    cfg = {
        "device": "cpu",
        "threads": 1,
        "data": {"data_dir": None, "download": False},
        "functions": {"sinc": {"domain": [-1.0, 1.0], "n_train": 400}},
        "experiments": {
            "functions": {
                "functions": ["sinc"],
                "train": {
                    "optimizer": "adam",
                    "lr": 0.003,
                    "batch_size": 20,
                    "epochs": epochs,
                    "seeds": 2,
                    "checkpoint_every": 25,
                    "record_steps": True,
                    "snapshot_every": 100,
                },
                "variants": {"deep": {"model": {"type": "mlp", "hidden": [10, 10, 10, 10, 10]}}},
            }
        },
        "figures": {},
    }
    p = workdir / "tiny.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def smk(workdir: Path, *args: str) -> list[str]:
    return snakemake_cmd(workdir, "tiny.yaml", "--cores", "1", *args)


RUN = "results/runs/functions/sinc-deep"


def test_killed_training_job_resumes_to_identical_results(tmp_path):
    ref, crash = tmp_path / "ref", tmp_path / "crash"
    for d in (ref, crash):
        d.mkdir()
        tiny_config(d)
    subprocess.run(smk(ref, RUN + "/metrics.parquet"), check=True, capture_output=True, timeout=600)

    proc = subprocess.Popen(
        smk(crash, RUN + "/metrics.parquet"),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ckpt = crash / "results/checkpoints/functions/sinc-deep.pt"
    deadline = time.time() + 300
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ckpt.exists(), "no checkpoint appeared before the job ended"
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its job, mid-training
    proc.wait()
    assert not (crash / RUN / "metrics.parquet").exists()
    assert ckpt.exists()

    subprocess.run(smk(crash, "--unlock"), check=True, capture_output=True, timeout=120)
    res = subprocess.run(
        smk(crash, "--rerun-incomplete", RUN + "/metrics.parquet"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    log = (crash / "logs/train/functions/sinc-deep.log").read_text()
    assert "resumed functions/sinc-deep" in log
    for name in ("metrics.parquet", "steps.parquet", "weights.parquet"):
        assert (crash / RUN / name).read_bytes() == (ref / RUN / name).read_bytes(), name
    assert not ckpt.exists(), "the checkpoint outlived its complete job"


def test_same_config_gives_bitwise_identical_parquet_files(tmp_path):
    outs = []
    for name in ("a", "b"):
        d = tmp_path / name
        d.mkdir()
        tiny_config(d, epochs=40)
        subprocess.run(
            smk(d, RUN + "/metrics.parquet"), check=True, capture_output=True, timeout=600
        )
        outs.append(d / RUN)
    for name in ("metrics.parquet", "steps.parquet", "weights.parquet"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


WRITER = """
import sys, numpy as np, pandas as pd
from hw1.io import write_parquet
df = pd.DataFrame({"x": np.arange(3_000_000, dtype=np.float64)})
print("ready", flush=True)
while True:
    write_parquet(df, sys.argv[1])
"""


def test_killed_writer_leaves_no_half_file(tmp_path):
    target = tmp_path / "table.parquet"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    for delay in (0.05, 0.2, 0.5):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target)], env=env, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if target.exists():  # whatever is under the final name is complete
            assert len(pd.read_parquet(target)) == 3_000_000


def test_atomic_files_get_the_usual_permissions(tmp_path):
    from hw1.io import write_parquet

    umask = os.umask(0o022)
    try:
        write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
    finally:
        os.umask(umask)
    assert (tmp_path / "t.parquet").stat().st_mode & 0o777 == 0o644
    assert not list(tmp_path.glob(".*.tmp"))
