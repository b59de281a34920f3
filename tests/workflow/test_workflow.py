"""The Snakemake workflow end to end on the smoke config, in a temp dir.

One session-wide smoke run feeds the tests below; they run in file order (dry-run counts,
end-to-end outputs, no-op rerun, style change, figure by name, failures).
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from hw1.catalogue import configured_analyses
from hw1.config import expand_variants
from tests.workflow.wf import expected_figures, job_counts, smoke_config, snakemake, write_config

pytestmark = pytest.mark.workflow


def test_dry_run_job_counts(smoke_run):
    workdir, cfg, dry, _ = smoke_run
    counts = job_counts(dry)
    variants = expand_variants(cfg)
    assert counts["train"] == sum(len(v) for v in variants.values())
    assert {k for k in counts if k.startswith("plot_")} == {
        f"plot_{f}" for f in expected_figures(cfg)
    }
    # one prepare job per image data set the experiments train on (registry names)
    assert counts["prepare"] == 2  # mnist and fashion_mnist
    assert counts["make_random_labels"] == 1  # random_labels runs on MNIST only here
    assert counts["function_data"] == len(cfg["functions"])
    assert counts["all"] == 1
    # one table job per figure (one wildcard rule); one job per heavy analysis
    assert counts["table"] == len(expected_figures(cfg))
    # one job per heavy analysis (one wildcard rule), each writing its registry name's file
    assert counts["analysis"] == len(configured_analyses(cfg)) == 6
    assert sorted(p.stem for p in (workdir / "results" / "analysis").glob("*.parquet")) == sorted(
        ["minimal_ratio", "error_surface", "interpolation", "flatness", "keskar_sharpness",
         "generalization_measures"]
    )  # fmt: skip
    # the measures run as one job per experiment of their runs_from, joined by the analysis
    parts = cfg["experiments"]["generalization_measures"]["runs_from"]
    assert counts["analysis_part"] == len(parts)
    assert sorted(
        p.stem for p in (workdir / "results/analysis/generalization_measures").glob("*.parquet")
    ) == sorted(parts)


def test_smoke_run_makes_every_figure_table_log_and_benchmark(smoke_run):
    workdir, cfg, _, _ = smoke_run
    for fig in expected_figures(cfg):
        for ext in ("png", "pdf"):
            assert (workdir / f"results/figures/{fig}.{ext}").stat().st_size > 1000, fig
        table = pd.read_parquet(workdir / f"results/tables/{fig}.parquet")
        assert len(table) > 0
    for exp, variants in expand_variants(cfg).items():
        for v in variants:
            run = workdir / "results/runs" / exp / v
            m = pd.read_parquet(run / "metrics.parquet")
            assert set(m.split) == {"train", "test"}
            assert (workdir / f"logs/train/{exp}/{v}.log").exists()
            assert (workdir / f"benchmarks/train/{exp}/{v}.tsv").exists()
    # checkpoints are gone once the jobs are complete
    assert not list((workdir / "results").rglob("*.pt.tmp"))
    assert not list((workdir / "results/checkpoints").rglob("*.pt"))


def test_deep_vs_shallow_tables_have_documented_columns(smoke_run):
    workdir, cfg, _, _ = smoke_run
    t = pd.read_parquet(workdir / "results/tables/function_loss.parquet")
    assert {"function", "model", "hidden", "params", "seed", "epoch", "split", "loss"} <= set(t)
    assert set(t.function) == set(cfg["experiments"]["functions"]["functions"])
    counts = t.groupby("model").params.first()
    assert (counts.max() - counts.min()) / counts.min() <= 0.01
    t = pd.read_parquet(workdir / "results/tables/cnn_depth.parquet")
    assert {"model", "params", "seed", "epoch", "split", "loss", "accuracy"} <= set(t)
    counts = t.groupby("model").params.first()
    assert (counts.max() - counts.min()) / counts.min() <= 0.05
    t = pd.read_parquet(workdir / "results/tables/function_fit.parquet")
    assert {"function", "model", "x", "y_true", "y_pred", "seed"} <= set(t)


def test_the_console_shows_each_job_the_progress_and_an_account_of_the_run(smoke_run):
    """The hw1 logger: one line per job with what it is for, the progress with the time
    left, and at the end what ran, where the report and figures are, what it found; the
    raw Snakemake detail (each job's input lists) is not on the console."""
    workdir, cfg, _, run = smoke_run
    out = run.stdout + run.stderr
    figures = expected_figures(cfg)
    starts = [ln for ln in out.splitlines() if "] start " in ln]
    n_train = sum(len(v) for v in expand_variants(cfg).values())
    assert sum(" start train " in ln for ln in starts) == n_train
    assert any(
        " start train experiment=cnn_depth variant=cnn4 — train every seed of cnn_depth/cnn4" in ln
        for ln in starts
    ), starts[:5]
    assert any("start prepare dataset=fashion_mnist — verify and cache" in ln for ln in starts)
    assert any("jobs done (" in ln and "left" in ln for ln in out.splitlines())
    assert "input: results/" not in out  # Snakemake's per-job detail stays in the log
    assert "Done in " in out and " jobs run, 0 up to date." in out
    assert "Report: results/homework.html and results/report.md" in out
    assert f"Figures ({len(figures)}): results/figures/<name>.png and .pdf" in out
    found = out.split("What the report found:", 1)[1].splitlines()
    # one line per figure, then one per row of the report's Findings
    n_findings = sum(ln.startswith("Finding, ") for ln in (workdir / "results" / "findings.txt")
                     .read_text().splitlines())  # fmt: skip
    assert n_findings >= 6
    assert sum(ln.startswith("  - ") for ln in found) == len(figures) + n_findings
    assert "Full Snakemake log: " in out


def test_training_jobs_start_by_their_longest_chain_and_analyses_are_estimated(smoke_run):
    """A training job's priority is its cost plus the estimate of the longest analysis job
    waiting for its runs (critical-path scheduling: the small runs of an experiment whose
    analysis is long do not start last); an analysis job's estimate is its cost
    (hw1.resources.analysis_seconds) or, without a cost model, the default, and the run's
    plan gives it as the job's expected seconds."""
    import re

    from hw1.config import runs_from, set_sizes, validate
    from hw1.resources import analysis_seconds, job_cost
    from snakemake_logger_plugin_hw1.plan import DEFAULT_SECONDS, read_plan
    from tests.conftest import REPO

    workdir, raw, _, _ = smoke_run
    cfg = validate(
        yaml.safe_load(yaml.safe_dump(raw)), REPO / "workflow/schemas/config.schema.yaml"
    )
    variants, exps = expand_variants(cfg), cfg["experiments"]

    def runs(experiments):
        return [
            (s, *set_sizes(cfg, s["dataset"])) for e in experiments for s in variants[e].values()
        ]

    # what each analysis job reads, and its settings
    jobs = {
        "analysis:minimal_ratio": ("minimal_ratio", ["minimal_ratio"], exps["minimal_ratio"]),
        "analysis:error_surface": ("error_surface", runs_from(exps["error_surface"]),
                                   exps["error_surface"]),
        "analysis:interpolation": ("interpolation", ["interpolation"], exps["interpolation"]),
        "analysis:flatness": ("flatness", ["batch_size"], exps["batch_size"]),
        "analysis:keskar_sharpness": ("keskar_sharpness", ["keskar"], exps["keskar"]),
    }  # fmt: skip
    for e in runs_from(exps["generalization_measures"]):
        jobs[f"analysis_part:generalization_measures/{e}"] = (
            "generalization_measures",
            [e],
            exps["generalization_measures"],
        )
    est = {}
    for key, (name, reads, options) in jobs.items():
        secs = analysis_seconds(name, options, runs(reads))
        est[key] = DEFAULT_SECONDS["analysis"] if secs is None else secs
    assert est["analysis:flatness"] != DEFAULT_SECONDS["analysis"]
    _, plan = read_plan(str(workdir / "first_plan.json"))
    for key, secs in est.items():
        assert plan[key].seconds == pytest.approx(secs, rel=1e-9), key

    out = snakemake(workdir, "-n", "-F", "--logger-hw1-detail")
    text = out.stdout + out.stderr
    got = {}
    for block in text.split("rule train:")[1:]:  # Snakemake leaves out a priority of 0
        wc = re.search(r"wildcards: experiment=(\S+), variant=(\S+)", block)
        prio = re.search(r"^\s+priority: (\d+)$", block.split("\n[", 1)[0], re.M)
        got[wc.groups()] = int(prio.group(1)) if prio else 0
    assert len(got) == sum(len(v) for v in variants.values())
    for (e, v), prio in got.items():
        waiting = [s for key, s in est.items() if e in jobs[key][1]]
        spec = variants[e][v]
        want = int(job_cost(spec, *set_sizes(cfg, spec["dataset"])) + max(waiting, default=0.0))
        assert prio == want, (e, v, prio, want)


def test_every_compute_job_logs_mkls_kernels(smoke_run):
    """Each training and analysis job's log states MKL's choice of kernels, and on an AMD CPU
    with a C compiler that the hw1.mkl shim was preloaded (the workflow builds it)."""
    from hw1 import mkl

    workdir = smoke_run[0]
    logs = sorted((workdir / "logs" / "train").rglob("*.log"))
    logs += sorted((workdir / "logs" / "analysis").rglob("*.log"))
    assert len(logs) > 20
    shim = mkl.shim_wanted({}) and mkl.compiler() is not None
    for log in logs:
        text = log.read_text()
        assert "MKL kernels: code path" in text, log
        assert ("the hw1.mkl shim preloaded" in text) == shim, log


def test_full_detail_is_one_flag_away(smoke_run):
    """--logger-hw1-detail adds Snakemake's own per-job detail to the hw1 console lines."""
    workdir = smoke_run[0]
    args = ("-n", "-f", "results/figures/function_fit.png")
    plain = snakemake(workdir, *args)
    detail = snakemake(workdir, *args, "--logger-hw1-detail")
    assert "would run plot_function_fit — draw figure function_fit" in plain.stderr
    assert "input: results/tables/function_fit.parquet" not in plain.stdout + plain.stderr
    assert "input: results/tables/function_fit.parquet" in detail.stdout + detail.stderr


def test_second_run_does_nothing(smoke_run):
    workdir = smoke_run[0]
    out = snakemake(workdir, "-n")
    assert "Nothing to be done" in out.stdout + out.stderr


def test_style_change_rerenders_only_that_figure(smoke_run):
    workdir, cfg, _, _ = smoke_run
    cfg = yaml.safe_load((workdir / "smoke.yaml").read_text())
    cfg["figures"]["function_fit"]["dpi"] = cfg["figures"]["function_fit"].get("dpi", 150) + 7
    write_config(workdir, cfg)
    figs = workdir / "results/figures"
    before = {p.name: p.stat().st_mtime_ns for p in figs.glob("*.png")}
    out = snakemake(workdir)
    counts = job_counts(out.stdout + out.stderr)
    plots = {k for k in counts if k.startswith("plot_")}
    assert plots == {"plot_function_fit"} and "train" not in counts, counts
    after = {p.name: p.stat().st_mtime_ns for p in figs.glob("*.png")}
    changed = {n for n in before if after[n] != before[n]}
    assert changed == {"function_fit.png"}


@pytest.mark.parametrize("target", ["function_fit", "results/figures/function_fit.png"])
def test_figure_rebuilds_by_name(smoke_run, target):
    workdir = smoke_run[0]
    (workdir / "results/figures/function_fit.png").unlink()
    out = snakemake(workdir, target)
    counts = job_counts(out.stdout + out.stderr)
    assert counts.get("plot_function_fit") == 1 and "train" not in counts, counts
    assert (workdir / "results/figures/function_fit.png").exists()


def test_bad_config_stops_before_any_job(tmp_path, mnist_dir):
    cfg = smoke_config(mnist_dir)
    cfg["experiments"]["cnn_depth"]["train"]["lr"] = -0.5
    write_config(tmp_path, cfg)
    res = snakemake(tmp_path, check=False)
    assert res.returncode != 0
    assert "config key experiments.cnn_depth.train.lr" in res.stdout + res.stderr
    assert not (tmp_path / "results").exists()


def test_missing_mnist_names_the_files_and_runs_nothing_downstream(tmp_path, mnist_dir):
    cfg = smoke_config(mnist_dir)
    cfg["data"]["data_dir"] = str(tmp_path / "nowhere")
    cfg["data"]["download"] = False
    write_config(tmp_path, cfg)
    res = snakemake(tmp_path, "cnn_depth", check=False)
    assert res.returncode != 0
    log = (tmp_path / "logs/data/prepare_mnist.log").read_text()
    assert "train-images-idx3-ubyte.gz" in log and "f68b3c2dcbeaaa9fbdd348bbdeb94873" in log
    # the console names the failed job, the line that says why, and its log (the
    # traceback stays in the log)
    out = res.stdout + res.stderr
    assert "1 job failed:" in out
    assert "  - rule prepare (results/data/mnist.pt): hw1.data.DataError: data.data_dir " in out
    assert "      log: logs/data/prepare_mnist.log" in out
    assert "Traceback" not in out
    assert not (tmp_path / "results/runs").exists()
    assert not (tmp_path / "results/data/mnist.pt").exists()


def test_two_data_sets_run_side_by_side_in_one_figure(smoke_run):
    """The smoke config runs params_vs_generalization and interpolation on MNIST and
    Fashion-MNIST: one job per data set x variant, each on its own data (the Fashion-MNIST
    runs' metrics differ from the MNIST ones), one table and figure holding both."""
    workdir, cfg, _, _ = smoke_run
    variants = expand_variants(cfg)["params_vs_generalization"]
    assert sorted(variants) == sorted(
        f"{d}-{v}" for d in ("mnist", "fashion_mnist") for v in ("h2", "h16", "h128", "h512")
    )
    t = pd.read_parquet(workdir / "results/tables/params_vs_generalization.parquet")
    assert list(dict.fromkeys(t["dataset"])) == ["mnist", "fashion_mnist"]
    assert set(t["model"]) == {"h2", "h16", "h128", "h512"}
    a = t[t.dataset == "mnist"].set_index(["model", "seed", "split"]).sort_index()
    b = t[t.dataset == "fashion_mnist"].set_index(["model", "seed", "split"]).sort_index()
    assert (a["loss"] != b["loss"]).all()
    # Fashion-MNIST is the harder set: its best test accuracy is below MNIST's
    assert b["accuracy"].max() < a["accuracy"].max()
    interp = pd.read_parquet(workdir / "results/tables/interpolation.parquet")
    assert set(interp["dataset"]) == {"mnist", "fashion_mnist"}
    report = (workdir / "results/report.md").read_text()
    assert "Fashion-MNIST: " in report and "| data set |" in report


def test_a_mistyped_figure_name_lists_the_valid_ones(smoke_run):
    workdir = smoke_run[0]
    res = snakemake(workdir, "-n", "function_fitt", check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "no figure or rule named 'function_fitt'; did you mean 'function_fit'" in out
    assert "figures (each also a target by its name): function_loss, function_fit" in out
    assert "MissingRuleException" not in out
    # real targets still work: a figure's name and a file
    assert snakemake(workdir, "-n", "function_fit", "results/report.md").returncode == 0


def test_cores_beyond_the_machine_are_capped(smoke_run):
    import os

    workdir = smoke_run[0]
    res = snakemake(
        workdir, "--cores", str(4 * os.cpu_count()), "-f", "results/data/fn_sinc.parquet"
    )
    out = res.stdout + res.stderr
    assert f"Provided cores: {os.cpu_count()}" in out
    assert "so that jobs do not oversubscribe" in out
