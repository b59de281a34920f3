"""What a person running the workflow sees (hw1.console, the logger's plan module): job
purposes, the time-left estimate, one line per finding, the end-of-run account of a success
or a failure."""

from __future__ import annotations

from hw1.console import failure_summary, failures, finding_line, success_summary, why
from snakemake_logger_plugin_hw1.plan import (
    PlannedJob,
    TimeLeft,
    job_key,
    purpose,
    read_plan,
    write_plan,
)


def test_each_job_says_what_it_is_for():
    wc = {"experiment": "cnn_depth", "variant": "fashion_mnist-cnn4"}
    assert purpose("train", wc) == "train every seed of cnn_depth/fashion_mnist-cnn4"
    assert purpose("plot_sharpness", {}) == "draw figure sharpness"
    assert purpose("prepare", {"dataset": "mnist"}) == "verify and cache the data set mnist"
    assert purpose("some_new_rule", {}) == "some new rule"
    assert job_key("train", wc) == "train:cnn_depth/fashion_mnist-cnn4"
    assert job_key("all", {}) == "all"


def test_time_left_is_the_unfinished_core_seconds_over_the_cores_scaled(tmp_path):
    jobs = [
        PlannedJob("a", 100.0, 2, False),
        PlannedJob("b", 50.0, 1, True),
        PlannedJob("c", 10.0, 1, False),
    ]
    write_plan(jobs, 2, str(tmp_path / "plan.json"))
    cores, plan = read_plan(str(tmp_path / "plan.json"))
    assert cores == 2 and plan["b"] == jobs[1]
    t = TimeLeft(cores, plan)
    assert t.seconds_left() == (200 + 50 + 10) / 2
    t.finish("a", 200.0)  # took twice as long as expected: the rest is scaled by 2
    assert t.scale == 2.0
    assert t.seconds_left() == 2.0 * (50 + 10) / 2
    t.finish("b", 5.0)  # the scale is the ratio over all finished jobs: 205 / 150
    assert t.seconds_left() == (205 / 150) * 10 / 2
    assert read_plan(str(tmp_path / "missing.json")) == (1, {})


def test_a_finding_line_says_what_holds_on_both_data_sets():
    obs = (
        "MNIST: with random labels it first reached 99% at epoch 37. Fashion-MNIST: it did "
        "not reach 99%. On both MNIST and Fashion-MNIST: test accuracy stayed at chance. "
        "Differs: random labels were memorised holds on MNIST but not on Fashion-MNIST."
    )
    line = finding_line("Can the network fit random labels?", obs)
    assert line == (
        "Can the network fit random labels?: On both MNIST and Fashion-MNIST: test accuracy "
        "stayed at chance. Differs: random labels were memorised holds on MNIST but not on "
        "Fashion-MNIST."
    )
    one = finding_line("T", "After 10 epochs, cnn4 reached 0.0123. It is 2.5× below cnn1.")
    assert one == "T: After 10 epochs, cnn4 reached 0.0123."
    assert len(finding_line("T", "x" * 1000, width=50)) == len("T: ") + 50


def test_the_success_summary_says_what_was_made_and_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results/figures").mkdir(parents=True)
    (tmp_path / "results/report.md").write_text("# report")
    (tmp_path / "results/figures/a.png").write_bytes(b"png")
    (tmp_path / "results/findings.txt").write_text("A: one.\nB: two.\n")
    text = success_summary(ran=5, up_to_date=3, seconds=125, figures=["a", "b"], log="x.log")
    assert text.splitlines() == [
        "Done in 2 min 05 s: 5 jobs run, 3 up to date.",
        "Report: results/homework.html and results/report.md",
        "Figures (1): results/figures/<name>.png and .pdf — a",
        "What the report found:",
        "  - A: one.",
        "  - B: two.",
        "Full Snakemake log: x.log",
    ]


SNAKEMAKE_LOG = """\
[Tue Dec  1 10:00:00 2026]
Error in rule prepare:
    jobid: 3
    output: results/data/mnist.pt
    log: logs/data/prepare_mnist.log (check log file(s) for error details)

Shutting down, this might take some time.
Error in rule prepare:
    jobid: 3
    output: results/data/mnist.pt
    log: logs/data/prepare_mnist.log (check log file(s) for error details)
Error in rule train:
    jobid: 7
    input: results/data/fn_sinc.parquet
    output: results/runs/functions/sinc-deep/metrics.parquet, results/runs/x/steps.parquet
    log: logs/train/functions/sinc-deep.log (check log file(s) for error details)
"""


def test_the_failure_summary_names_each_failed_job_its_reason_and_log(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "logs/data").mkdir(parents=True)
    (tmp_path / "logs/data/prepare_mnist.log").write_text(
        "2026 INFO hw1: start\n2026 ERROR hw1: job failed\nTraceback (most recent call last):\n"
        '  File "x.py", line 1, in f\n    raise DataError(msg)\n'
        "hw1.data.DataError: MNIST files missing: t10k-images-idx3-ubyte.gz (download=off).\n"
        "Put these files of MNIST into resources/MNIST/raw/\n"
    )
    assert why(tmp_path / "logs/data/prepare_mnist.log").startswith(
        "hw1.data.DataError: MNIST files missing"
    )
    assert why(tmp_path / "nope.log") == "(no log written)"
    got = failures(SNAKEMAKE_LOG)
    assert got == [
        ("prepare", "results/data/mnist.pt", ["logs/data/prepare_mnist.log"]),
        (
            "train",
            "results/runs/functions/sinc-deep/metrics.parquet",
            ["logs/train/functions/sinc-deep.log"],
        ),
    ]
    (tmp_path / "snake.log").write_text(SNAKEMAKE_LOG)
    text = failure_summary(str(tmp_path / "snake.log"))
    assert text.splitlines()[:3] == [
        "2 jobs failed:",
        "  - rule prepare (results/data/mnist.pt): hw1.data.DataError: MNIST files missing: "
        "t10k-images-idx3-ubyte.gz (download=off).",
        "      log: logs/data/prepare_mnist.log",
    ]
    assert "(no log written)" in text  # the train job's log does not exist here
