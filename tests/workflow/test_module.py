"""The workflow as a module: a user's own Snakefile uses it with `module:`, its own config
and its own rules, and builds a figure end to end (the Snakemake workflow catalog's
"standardized usage")."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.conftest import REPO
from tests.workflow.wf import SNAKEMAKE, smoke_config

pytestmark = pytest.mark.workflow

USER_SNAKEFILE = """\
configfile: "my_config.yaml"


module hw1:
    snakefile:
        "{repo}/workflow/Snakefile"
    config:
        config["study"]


use rule * from hw1 as hw1_*


rule my_summary:
    input:
        fig="results/figures/function_fit.png",
        report="results/report.md",
    output:
        "mine/summary.txt",
    shell:
        "ls -l {{input.fig}} > {{output}} && head -3 {{input.report}} >> {{output}}"
"""


def test_a_users_snakefile_runs_a_figure_through_the_module(tmp_path, mnist_dir):
    cfg = smoke_config(mnist_dir)
    cfg["experiments"] = {"functions": cfg["experiments"]["functions"]}
    cfg["figures"] = {"function_fit": {"dpi": 60}}
    (tmp_path / "my_config.yaml").write_text(
        yaml.safe_dump({"study": cfg, "my_own_key": 1}, sort_keys=False)
    )
    (tmp_path / "Snakefile").write_text(USER_SNAKEFILE.format(repo=REPO))
    cmd = [
        SNAKEMAKE,
        "--cores",
        "2",
        "--directory",
        str(tmp_path),
        "-s",
        str(tmp_path / "Snakefile"),
    ]
    res = subprocess.run([*cmd, "mine/summary.txt"], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    assert (tmp_path / "results/figures/function_fit.png").stat().st_size > 1000
    assert "function_fit.png" in (tmp_path / "mine/summary.txt").read_text()
    # the module's rules under the user's prefix: a figure's alias, nothing left to do
    res = subprocess.run([*cmd, "-n", "hw1_function_fit"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    assert "Nothing to be done" in res.stdout + res.stderr
    # the module's config is the user's: a bad value there is refused naming its key
    bad = {"study": {**cfg, "threads": 0}}
    (tmp_path / "my_config.yaml").write_text(yaml.safe_dump(bad, sort_keys=False))
    res = subprocess.run([*cmd, "-n"], capture_output=True, text=True)
    assert res.returncode != 0 and "config key threads" in res.stdout + res.stderr
