"""The smoke workflow through the slurm profile on a real single-node SLURM (loopback).

tests/slurm/cluster.sh installs Debian's slurm and munge when missing and starts the
daemons on 127.0.0.1 with state under a temp dir; the test checks that every job went
through sbatch and that the results equal a local run's, byte for byte.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.workflow.wf import SNAKEMAKE, job_counts, smoke_config, snakemake_cmd

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]
CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
TARGET = "function_loss"  # Part 1-1 on sinc: its data, 3 training jobs, table, figure


@pytest.fixture(scope="module")
def cluster():
    # munged insists that every folder above its socket is world-executable, which pytest's
    # private temp folders are not
    state = Path(tempfile.mkdtemp(prefix="hw1-slurm-", dir="/tmp"))
    state.chmod(0o755)
    res = subprocess.run(
        ["bash", str(CLUSTER), "start", str(state)], capture_output=True, text=True, timeout=600
    )
    if res.returncode != 0:
        pytest.fail(f"could not start the loopback SLURM cluster:\n{res.stderr[-4000:]}")
    env = dict(os.environ)
    for line in res.stdout.splitlines():
        m = re.match(r"export (\w+)=(.*)$", line)
        if m:
            value = subprocess.run(
                ["bash", "-c", f"echo {m.group(2)}"], capture_output=True, text=True, env=env
            ).stdout.strip()
            env[m.group(1)] = value
    env["PATH"] = f"{Path(SNAKEMAKE).parent}{os.pathsep}{env['PATH']}"
    yield state, env
    subprocess.run(
        ["bash", str(CLUSTER), "stop", str(state), "--clean"], capture_output=True, timeout=120
    )


def trimmed_config(mnist_dir: Path) -> dict:
    cfg = smoke_config(mnist_dir)
    cfg["experiments"] = {"functions": {**cfg["experiments"]["functions"], "functions": ["sinc"]}}
    return cfg


def run(workdir: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    cmd = snakemake_cmd(workdir, "c.yaml", *args, TARGET)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    return res


def test_smoke_workflow_runs_through_sbatch_and_matches_local(tmp_path, cluster, mnist_dir):
    state, env = cluster
    cfg = trimmed_config(mnist_dir)
    local, remote = tmp_path / "local", tmp_path / "slurm"
    for d in (local, remote):
        d.mkdir()
        (d / "c.yaml").write_text(yaml.safe_dump(cfg))
    run(local, dict(os.environ), "--cores", "2")
    res = run(remote, env, "--profile", str(REPO / "profiles" / "slurm"))
    counts = job_counts(res.stdout + res.stderr)
    n_jobs = sum(v for k, v in counts.items() if k != TARGET)  # the alias rule runs locally

    ctld = (state / "log" / "slurmctld.log").read_text()
    submitted = set(re.findall(r"_slurm_rpc_submit_batch_job: JobId=(\d+)", ctld))
    completed = set(re.findall(r"_job_complete: JobId=(\d+) WEXITSTATUS 0", ctld))
    assert len(submitted) >= n_jobs, (counts, len(submitted))
    assert submitted <= completed, "some SLURM job did not exit 0"

    runs = sorted((local / "results" / "runs").rglob("*.parquet"))
    assert len(runs) == 3 * 3
    for f in [*runs, local / "results/tables/function_loss.parquet"]:
        twin = remote / f.relative_to(local)
        assert twin.read_bytes() == f.read_bytes(), f
