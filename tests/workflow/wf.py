"""Helpers for the workflow tests: run Snakemake on the smoke config in a temp dir."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from hw1.catalogue import configured
from tests.conftest import REPO

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def smoke_config(mnist_dir: Path) -> dict:
    cfg = yaml.safe_load((REPO / "tests/config/smoke.yaml").read_text())
    cfg["data"]["data_dir"] = str(mnist_dir)
    return cfg


def write_config(workdir: Path, cfg: dict, name: str = "smoke.yaml") -> Path:
    p = workdir / name
    p.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return p


def snakemake_cmd(workdir: Path, config: str, *args: str) -> list[str]:
    """The command line of a Snakemake run of this workflow in ``workdir`` on its ``config``."""
    head = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir)]
    return [*head, "--configfile", str(workdir / config), *args]


def snakemake(workdir: Path, *args: str, config: str = "smoke.yaml", check: bool = True):
    cmd = snakemake_cmd(workdir, config, "--cores", "2", *args)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{res.stdout[-4000:]}\n{res.stderr[-6000:]}")
    return res


def job_counts(output: str) -> dict[str, int]:
    """Parse Snakemake's 'Job stats' table."""
    counts: dict[str, int] = {}
    block = output.split("Job stats:", 1)[1] if "Job stats:" in output else ""
    for line in block.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
        elif line.strip().startswith("total"):
            break
    return counts


def expected_figures(cfg: dict) -> list[str]:
    """The figures a config draws: those of its experiments, from the catalogue."""
    return configured(cfg)
