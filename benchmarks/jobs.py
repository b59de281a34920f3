"""What a finished run's jobs cost and how well they used the machine, as Markdown tables.

    python benchmarks/jobs.py [RESULTS_ROOT] [--cores N] [--peaks 1=162,2=328] [--wall S]

Read from Snakemake's ``benchmark:`` files (wall seconds, CPU seconds, peak resident memory
of every training and analysis job) and the run files' own training specs:

1. Job seconds and peak memory per experiment and data set.
2. Per training job: its threads, FLOPs (:func:`hw1.resources.job_flops`: the training steps
   and every full-set evaluation the run file records), achieved GFLOP/s, that rate as a share
   of the machine's fp32 GEMM peak at the job's thread count (measured here unless
   ``--peaks`` gives it: run it on a quiet machine), and how busy the job kept its threads
   (CPU seconds / (threads x wall seconds)).
3. The run's core occupancy: the span from the first benchmarked job's start to the last
   one's end (each file's mtime is its job's end) and, over that span, the share of the cores
   the jobs held (threads x seconds) and kept busy (CPU seconds). ``--wall`` adds the whole
   run's wall time (e.g. from ``/usr/bin/time``), which also covers data preparation, tables,
   figures and Snakemake's own start-up.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from hw1 import mkl  # noqa: E402
from hw1.config import set_sizes, validate  # noqa: E402
from hw1.datasets import dataset_of_variant  # noqa: E402
from hw1.io import read_parquet  # noqa: E402
from hw1.resources import job_flops, job_threads  # noqa: E402
from hw1.runs import run_meta  # noqa: E402

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def job_table(root: Path) -> pd.DataFrame:
    """Wall and CPU seconds, peak memory and end time of every job that left a benchmark
    file under ``root``."""
    rows = []
    # the workflow's benchmark: folders only (benchmarks/cpu-results holds committed copies)
    tsvs = [t for kind in ("train", "analysis") for t in root.glob(f"benchmarks/{kind}/**/*.tsv")]
    for tsv in sorted(tsvs):
        df = pd.read_csv(tsv, sep="\t")
        kind = tsv.relative_to(root / "benchmarks").parts[0]
        # train/<experiment>/<variant>; analysis/<name> or analysis/<name>/<experiment> (a part)
        rel = tsv.relative_to(root / "benchmarks" / kind).with_suffix("")
        exp = tsv.parent.name if kind == "train" else rel.as_posix()
        cpu = df["cpu_time"].iloc[-1] if "cpu_time" in df else float("nan")
        rows.append(
            {
                "kind": kind,
                "experiment": exp,
                "job": tsv.stem,
                "data": (dataset_of_variant(tsv.stem) or "") if kind == "train" else "",
                "seconds": float(df["s"].iloc[-1]),
                "cpu_s": float(cpu),
                "max_rss_mb": float(df["max_rss"].iloc[-1]),
                "end": tsv.stat().st_mtime,
            }
        )
    return pd.DataFrame(rows)


def training_work(root: Path, jobs: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Threads and FLOPs of each training job, from its run file's spec (the epochs it
    trained: a run stopped early by ``train.stop`` records fewer) and the config's set sizes
    and thread count."""
    rows = []
    for r in jobs[jobs.kind == "train"].itertuples():
        metrics = root / "results" / "runs" / r.experiment / r.job / "metrics.parquet"
        if not metrics.exists():
            continue
        spec = run_meta(str(metrics))["spec"]
        evaluations = read_parquet(metrics, columns=["epoch"])["epoch"].nunique()
        n_train, n_test = set_sizes(cfg, spec["dataset"])
        rows.append(
            {
                "experiment": r.experiment,
                "job": r.job,
                "threads": job_threads(spec, cfg["threads"]),
                "flops": job_flops(spec, n_train, n_test, evaluations),
            }
        )
    return pd.DataFrame(rows)


def efficiency(jobs: pd.DataFrame, work: pd.DataFrame, peaks: dict[int, float]) -> pd.DataFrame:
    """Per training job: GFLOP/s, share of the GEMM peak at its threads, thread busy share."""
    df = jobs.merge(work, on=["experiment", "job"])
    df["gflops_per_s"] = df.flops / df.seconds / 1e9
    df["of_peak"] = df.gflops_per_s / df.threads.map(peaks)
    df["busy"] = df.cpu_s / (df.threads * df.seconds)
    return df.sort_values("seconds", ascending=False)


def occupancy(jobs: pd.DataFrame, threads: pd.Series, cores: int) -> dict[str, float]:
    """The span of the benchmarked jobs and the share of ``cores`` they held and used in it.
    ``threads``: each job's threads, aligned with ``jobs`` (analysis jobs: the config's)."""
    start = (jobs.end - jobs.seconds).min()
    span = jobs.end.max() - start
    return {
        "span_s": span,
        "held": float((threads * jobs.seconds).sum() / (cores * span)),
        "busy": float(jobs.cpu_s.sum() / (cores * span)),
    }


def _peaks(arg: str | None, thread_counts: list[int]) -> dict[int, float]:
    if arg:
        return {int(k): float(v) for k, v in (p.split("=") for p in arg.split(","))}
    from bench_common import gemm_peaks  # torch only when measuring

    return gemm_peaks(thread_counts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default=".", help="the run's folder (default: .)")
    ap.add_argument("--config", default=None, help="its config (default: ROOT/config.yaml)")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--peaks", default=None, help="GEMM GFLOP/s per thread count: 1=162,2=328")
    ap.add_argument("--wall", type=float, default=None, help="the run's wall seconds")
    args = ap.parse_args()
    if args.peaks is None:  # measured here: with the MKL kernels the jobs used (hw1.mkl)
        mkl.rerun_with_shim(REPO / mkl.SHIM_DIR)
    root = Path(args.root)
    jobs = job_table(root)
    if jobs.empty:
        sys.exit(f"no benchmark files under {root}/benchmarks")
    cfg_path = Path(args.config) if args.config else root / "config.yaml"
    cfg = validate(yaml.safe_load(cfg_path.read_text()), SCHEMA)

    per_exp = jobs.groupby(["kind", "experiment", "data"], sort=False).agg(
        jobs=("job", "size"),
        seconds=("seconds", "sum"),
        max_rss_mb=("max_rss_mb", "max"),
    )
    print(
        "| kind | experiment | data set | jobs | job s | peak RSS MB |\n"
        "|---|---|---|---:|---:|---:|"
    )
    for (kind, exp, data), r in per_exp.iterrows():
        print(f"| {kind} | {exp} | {data} | {int(r.jobs)} | {r.seconds:.0f} | {r.max_rss_mb:.0f} |")
    print(f"| **all** | | | {len(jobs)} | {jobs.seconds.sum():.0f} | {jobs.max_rss_mb.max():.0f} |")
    top = jobs.loc[jobs.max_rss_mb.idxmax()]
    print(f"\nlargest peak: {top.max_rss_mb:.0f} MB ({top.experiment}/{top.job})")

    work = training_work(root, jobs, cfg)
    peaks = _peaks(args.peaks, sorted(set(work.threads)))
    eff = efficiency(jobs, work, peaks)
    print(
        "\nfp32 GEMM peak: "
        + ", ".join(f"{t} thread{'s' * (t > 1)} {p:.0f} GFLOP/s" for t, p in sorted(peaks.items()))
        + ("" if args.peaks else " (measured now)")
    )
    print(
        "\n| job | threads | s | CPU s | threads busy | GFLOP | GFLOP/s | of peak |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    for r in eff.itertuples():
        print(
            f"| {r.experiment}/{r.job} | {r.threads} | {r.seconds:.0f} | {r.cpu_s:.0f} | "
            f"{r.busy:.0%} | {r.flops / 1e9:,.0f} | {r.gflops_per_s:.1f} | {r.of_peak:.0%} |"
        )
    all_rate = eff.flops.sum() / (eff.threads * eff.seconds).sum() / 1e9
    print(
        f"\ntraining jobs: {eff.flops.sum() / 1e12:.1f} TFLOP in {eff.seconds.sum():.0f} job-s, "
        f"{all_rate:.1f} GFLOP/s per thread held (1-thread peak {peaks.get(1, float('nan')):.0f})"
    )

    threads = jobs.merge(work, on=["experiment", "job"], how="left")["threads"]
    threads = threads.fillna(cfg["threads"]).clip(upper=args.cores)
    occ = occupancy(jobs, threads, args.cores)
    print(
        f"\ncores: {args.cores}; benchmarked jobs span {occ['span_s']:.0f} s "
        f"(first start to last end): threads held {occ['held']:.0%} of the cores, "
        f"busy (CPU s) {occ['busy']:.0%}"
    )
    if args.wall:
        busy = jobs.cpu_s.sum() / (args.cores * args.wall)
        print(
            f"whole run {args.wall:.0f} s: benchmarked jobs' CPU {busy:.0%} of the cores; "
            f"{args.wall - occ['span_s']:.0f} s outside their span (data, tables, figures, "
            "report, Snakemake start-up)"
        )


if __name__ == "__main__":
    main()
