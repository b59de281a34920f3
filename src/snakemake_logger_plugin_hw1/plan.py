"""What the hw1 logger needs to follow a run, without the hw1 package: what each job is
for, the plan of a run (each job's expected seconds, written when the run starts) and the
estimate of the time left; and the one duration format of the console and the job logs.

Kept out of ``hw1`` on purpose: Snakemake imports logger plugins when it starts, before the
workflow puts its own checkout's ``src`` first on ``sys.path``; a plugin that imported
``hw1`` would pin the installed copy of the package for the whole run (and the rules' code
inputs would name its files instead of the checkout's). Standard library only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``: a duration for a person."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


# The plan of a run (written at its start, read by the logger plugin): each job to run with
# the seconds it is expected to take and its threads.
PLAN_FILE = ".snakemake/hw1_plan.json"
# What each kind of job is for, by rule name (prefix); {w} is the job's wildcards.
PURPOSE = {
    "prepare": "verify and cache the data set {dataset}",
    "make_random_labels": "draw the fixed random labels of {dataset}",
    "function_data": "the training and test grids of {function}",
    "train": "train every seed of {experiment}/{variant}",
    "analysis": "the {analysis} analysis of trained runs",
    "analysis_part": "the {analysis} analysis of the {experiment} runs",
    "table": "the table of figure {figure}",
    "plot_": "draw figure {figure}",
    "figure_caption": "the caption of figure {figure}",
    "homework_report": "results/report.md and results/homework.html",
    "all": "every figure, caption and the report",
}
# Expected seconds of a job without an estimate of its own or an earlier run's benchmark
# (measured on the 2-core VM: a table, plot or caption job is mostly Python start-up).
DEFAULT_SECONDS = {"analysis": 60.0, "prepare": 8.0, "other": 4.0}


def purpose(rule: str, wildcards: Mapping[str, str]) -> str:
    """What a job of ``rule`` with ``wildcards`` is for, in a few words."""
    for prefix, text in PURPOSE.items():
        if rule == prefix or (prefix.endswith("_") and rule.startswith(prefix)):
            values = dict(wildcards)
            if prefix == "plot_":
                values.setdefault("figure", rule.removeprefix("plot_"))
            try:
                return text.format(**values)
            except KeyError:
                return text
    return rule.replace("_", " ")


def job_key(rule: str, wildcards: Mapping[str, str]) -> str:
    """A job's name in the plan: its rule and wildcards (``train:functions/sinc-deep``)."""
    wc = "/".join(str(v) for _, v in sorted(dict(wildcards).items()))
    return f"{rule}:{wc}" if wc else rule


def benchmark_seconds(path: str | os.PathLike) -> float | None:
    """Wall seconds an earlier run of a job took, from its Snakemake benchmark file."""
    try:
        lines = Path(path).read_text().splitlines()
        head, last = lines[0].split("\t"), lines[-1].split("\t")
        return float(last[head.index("s")])
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class PlannedJob:
    key: str
    seconds: float  # expected wall seconds
    threads: int
    measured: bool  # from an earlier run's benchmark file (else an estimate)


def write_plan(jobs: Iterable[PlannedJob], cores: int, path: str = PLAN_FILE) -> None:
    """The jobs a run is about to run, for the progress lines' estimate of the time left."""
    data = {
        "cores": int(cores),
        "jobs": {j.key: [j.seconds, j.threads, j.measured] for j in jobs},
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data))


def read_plan(path: str = PLAN_FILE) -> tuple[int, dict[str, PlannedJob]]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return 1, {}
    jobs = {k: PlannedJob(k, float(v[0]), int(v[1]), bool(v[2])) for k, v in data["jobs"].items()}
    return int(data.get("cores", 1)), jobs


class TimeLeft:
    """The estimate of a run's time left: the expected core-seconds of the jobs not yet
    finished (each job's expected seconds times its threads) over the cores, scaled by how
    the finished jobs' real durations compared with their expectations."""

    def __init__(self, cores: int, jobs: Mapping[str, PlannedJob]):
        self.cores = max(1, cores)
        self.jobs = dict(jobs)
        self.finished: set[str] = set()
        self.spent = 0.0  # real seconds of the finished jobs that had an expectation
        self.expected_done = 0.0

    def finish(self, key: str, seconds: float | None) -> None:
        job = self.jobs.get(key)
        self.finished.add(key)
        if job is not None and seconds is not None and job.seconds > 0:
            self.spent += seconds
            self.expected_done += job.seconds

    @property
    def scale(self) -> float:
        """Real over expected seconds of the finished jobs (1 until a few are done)."""
        if self.expected_done < 30.0:
            return 1.0
        return min(5.0, max(0.2, self.spent / self.expected_done))

    def seconds_left(self) -> float:
        left = sum(j.seconds * j.threads for k, j in self.jobs.items() if k not in self.finished)
        return self.scale * left / self.cores
