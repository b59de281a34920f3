"""Only stale outputs rebuild, exactly: on a finished smoke run (in a temp copy of the
workflow and package, so that files can be edited), each kind of change plans exactly the
jobs that depend on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hw1.catalogue import CATALOGUE
from hw1.codedeps import code_files
from hw1.config import expand_variants
from tests.conftest import REPO
from tests.workflow.wf import SNAKEMAKE, job_counts, smoke_config

pytestmark = pytest.mark.workflow

COPIED = ("Snakefile", "workflow", "src", "config.yaml", "profiles", "envs")


@pytest.fixture(scope="module")
def done(tmp_path_factory, mnist_dir):
    """A temp copy of the workflow and package (mtimes kept) and a finished smoke run of it."""
    root = tmp_path_factory.mktemp("reruns")
    repo = root / "repo"
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(
                src,
                repo / name,
                ignore=shutil.ignore_patterns("__pycache__"),
                copy_function=shutil.copy2,
            )
        else:
            repo.mkdir(exist_ok=True)
            shutil.copy2(src, repo / name)
    work = root / "work"
    work.mkdir()
    cfg = smoke_config(mnist_dir)
    (work / "smoke.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    run(repo, work, check=True)
    return repo, work, cfg


def run(repo: Path, work: Path, *args: str, config: str = "smoke.yaml", check=False):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    configs = [str(work / c) for c in config.split()]
    cmd = [
        SNAKEMAKE, "-s", str(repo / "Snakefile"), "--directory", str(work),
        "--configfile", *configs, "--cores", "2", *args,
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=1500, env=env)
    if check and res.returncode != 0:
        raise AssertionError(res.stdout[-3000:] + res.stderr[-5000:])
    return res


def planned(repo: Path, work: Path, *args: str, config: str = "smoke.yaml") -> dict[str, int]:
    """Jobs a dry run plans, by rule (without the target rule ``all``)."""
    res = run(repo, work, "-n", *args, config=config, check=True)
    counts = job_counts(res.stdout + res.stderr)
    counts.pop("all", None)
    return counts


def edited(repo: Path, rel: str):
    """A context in which ``repo/rel`` carries one more comment line (a code edit)."""

    class Edit:
        def __enter__(self):
            self.path = repo / rel
            self.text = self.path.read_text()
            self.stat = self.path.stat()
            self.path.write_text(self.text + "\n# an edit\n")  # newer than every output

        def __exit__(self, *exc):
            self.path.write_text(self.text)
            os.utime(self.path, (self.stat.st_atime, self.stat.st_mtime))

    return Edit()


def test_a_finished_run_plans_nothing(done):
    repo, work, _ = done
    assert planned(repo, work) == {}


def test_editing_a_figure_module_redraws_that_parts_figures_only(done):
    repo, work, _ = done
    with edited(repo, "src/hw1/figures/deep_vs_shallow.py"):
        got = planned(repo, work)
    assert got == {
        "plot_function_loss": 1,
        "plot_function_fit": 1,
        "plot_cnn_depth": 1,
        "homework_report": 1,  # it embeds the images
    }


def test_editing_a_summary_module_rewrites_that_parts_captions_and_the_report(done):
    repo, work, cfg = done
    with edited(repo, "src/hw1/summaries/generalization.py"):
        got = planned(repo, work)
    part = [f for f in CATALOGUE if f.part == "1-3" and f.experiment in cfg["experiments"]]
    # random labels, params, interpolation, sensitivity, sharpness, keskar, measures
    assert len(part) == 7
    assert got == {"figure_caption": len(part), "homework_report": 1}  # the Part 1-3 figures


def test_editing_the_engine_reruns_training_and_what_follows(done):
    repo, work, cfg = done
    with edited(repo, "src/hw1/engine.py"):
        got = planned(repo, work)
    n_variants = sum(len(v) for v in expand_variants(cfg).values())
    assert got["train"] == n_variants
    assert "prepare" not in got and "function_data" not in got


def test_another_copy_of_the_same_mnist_files_reruns_nothing(done, tmp_path):
    repo, work, cfg = done
    copy = tmp_path / "elsewhere" / "MNIST" / "raw"
    copy.mkdir(parents=True)
    src = Path(cfg["data"]["data_dir"])
    for f in (src / "MNIST" / "raw").glob("*.gz"):
        shutil.copy(f, copy / f.name)
    other = {**cfg, "data": {**cfg["data"], "data_dir": str(tmp_path / "elsewhere")}}
    other["data"]["download"] = False
    (work / "moved.yaml").write_text(yaml.safe_dump(other, sort_keys=False))
    assert planned(repo, work, config="moved.yaml") == {}


def test_train_size_reruns_the_mnist_jobs_not_the_function_fits(done):
    repo, work, cfg = done
    smaller = {**cfg, "data": {**cfg["data"], "train_size": cfg["data"]["train_size"] - 100}}
    (work / "smaller.yaml").write_text(yaml.safe_dump(smaller, sort_keys=False))
    got = planned(repo, work, config="smaller.yaml")
    variants = expand_variants(cfg)
    images = sum(
        1
        for v in variants.values()
        for s in v.values()
        if s["dataset"] in ("mnist", "fashion_mnist")
    )
    assert got["train"] == images
    assert "function_data" not in got and "prepare" not in got
    for fig in ("function_loss", "function_fit"):  # the function fits are untouched
        assert f"plot_{fig}" not in got


def test_forcing_a_figure_file_redraws_it(done):
    repo, work, _ = done
    got = planned(repo, work, "-f", "results/figures/function_fit.png")
    assert got == {"plot_function_fit": 1}


def test_code_inputs_cover_what_each_job_imports():
    """The code a rule declares (hw1.codedeps, from its script's imports) holds every hw1
    module its job really imports, and not the whole package."""
    scripts = REPO / "workflow" / "scripts"
    cases = {
        "train.py": (),
        "plot.py": ("hw1.figures.optimization",),
        "table.py": ("hw1.tables.deep_vs_shallow",),
        "caption.py": ("hw1.summaries.generalization",),
        "analysis.py": ("hw1.jobs.generalization",),
    }
    for script, extra in cases.items():
        declared = {str(Path(f).resolve()) for f in code_files(*extra, scripts=[scripts / script])}
        roots = [
            line.split()[1]
            for line in (scripts / script).read_text().splitlines()
            if line.startswith("from hw1")
        ] + list(extra)
        probe = "import importlib, sys\n"
        probe += "".join(f"importlib.import_module({r!r})\n" for r in roots)
        probe += "print('\\n'.join(m.__file__ for n, m in sys.modules.items() "
        probe += "if n.startswith('hw1') and getattr(m, '__file__', None)))"
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        ).stdout.split()  # fmt: skip
        imported = {str(Path(f).resolve()) for f in out}
        assert imported <= declared, (script, sorted(imported - declared))
        assert len(declared) < len(list((REPO / "src" / "hw1").rglob("*.py"))), script
    train = {Path(f).name for f in code_files(scripts=[scripts / "train.py"])}
    assert "engine.py" in train and "deep_vs_shallow.py" not in train and "report.py" not in train


def test_readme_override_forms(done, tmp_path):
    """The README's two ways to override nested keys with their real types: --config with a
    nested value (Snakemake reads it as strings; the workflow converts them by the schema),
    and a second --configfile merged on top."""
    repo, work, cfg = done
    src = Path(cfg["data"]["data_dir"])
    got = planned(
        repo, work, "--config", f'data={{"data_dir": "{src}", "download": false, "train_size": '
        f'{cfg["data"]["train_size"]}, "test_size": {cfg["data"]["test_size"]}}}'
    )  # fmt: skip
    assert got == {}  # same files, same sizes: nothing to do (and `false` is a boolean)
    bad = run(repo, work, "-n", "--config", 'data={"download": "maybe"}')
    assert bad.returncode != 0
    assert "data.download: 'maybe' is not of type 'boolean'" in bad.stdout + bad.stderr
    (work / "style.yaml").write_text("figures:\n  function_fit: {dpi: 100}\n")
    got = planned(repo, work, config="smoke.yaml style.yaml")
    assert got == {"plot_function_fit": 1, "homework_report": 1}


def test_the_workflow_snakefile_runs_the_default_target(done):
    """`snakemake -s workflow/Snakefile` (the catalog's entry point) has the same default
    target as the root Snakefile."""
    repo, work, _ = done
    res = subprocess.run(
        [SNAKEMAKE, "-s", str(repo / "workflow" / "Snakefile"), "--directory", str(work),
         "--configfile", str(work / "smoke.yaml"), "--cores", "2", "-n", "-F"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    counts = job_counts(res.stdout + res.stderr)
    assert counts["all"] == 1 and counts["train"] > 0 and counts["homework_report"] == 1
