"""Summarise Snakemake's ``benchmark:`` files of a run as a Markdown table.

    python benchmarks/jobs.py [RESULTS_ROOT]

One row per job (training and analysis): wall seconds and peak resident memory (MB), then
the totals per experiment and the largest peak, as measured by Snakemake.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from hw1.datasets import dataset_of_variant


def job_table(root: Path) -> pd.DataFrame:
    """Wall time and peak memory of every job that left a benchmark file under ``root``."""
    rows = []
    for tsv in sorted(root.glob("benchmarks/*/**/*.tsv")):
        df = pd.read_csv(tsv, sep="\t")
        kind = tsv.relative_to(root / "benchmarks").parts[0]
        exp = tsv.parent.name if kind == "train" else tsv.stem
        rows.append(
            {
                "kind": kind,
                "experiment": exp,
                "job": tsv.stem,
                "data": (dataset_of_variant(tsv.stem) or "") if kind == "train" else "",
                "seconds": float(df["s"].iloc[-1]),
                "max_rss_mb": float(df["max_rss"].iloc[-1]),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
    jobs = job_table(root)
    if jobs.empty:
        sys.exit(f"no benchmark files under {root}/benchmarks")
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
    print(
        f"\nlargest peak: {jobs.max_rss_mb.max():.0f} MB "
        f"({jobs.loc[jobs.max_rss_mb.idxmax(), 'experiment']}/"
        f"{jobs.loc[jobs.max_rss_mb.idxmax(), 'job']}); job seconds add up the jobs' own wall "
        "times (two 1-thread jobs run side by side, so the run's wall time is shorter)"
    )


if __name__ == "__main__":
    main()
