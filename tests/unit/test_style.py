"""Static checks as tests, so CI runs them: ruff, snakefmt, snakemake --lint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO

BIN = Path(sys.executable).parent


def run(*cmd: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_ruff_clean():
    res = run(str(BIN / "ruff"), "check", ".")
    assert res.returncode == 0, res.stdout + res.stderr
    res = run(
        str(BIN / "ruff"), "format", "--check", "src", "tests", "benchmarks", "workflow/scripts"
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_snakefmt_clean():
    res = run(str(BIN / "snakefmt"), "--check", "Snakefile", "workflow")
    assert res.returncode == 0, res.stdout + res.stderr


def test_snakemake_lint_clean(tmp_path, mnist_dir):
    for name in ("config.yaml", "tests/config/smoke.yaml"):
        cfg = yaml.safe_load((REPO / name).read_text())
        cfg["data"]["data_dir"] = str(mnist_dir)
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
        res = run(
            str(BIN / "snakemake"),
            "-s",
            str(REPO / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(tmp_path / "c.yaml"),
            "--lint",
            "--cores",
            "1",
        )
        out = res.stdout + res.stderr
        assert res.returncode == 0 and "Lints for" not in out, out
