"""What a person running the workflow sees: one line per job with what it is for, the
progress with an estimate of the time left, and at the end a short account of the run
(what was made, where, what it found; or which jobs failed, why, and where their logs are).

Torch-free and pandas-free: the Snakefile's ``onstart``/``onsuccess``/``onerror`` handlers
and the ``hw1`` Snakemake logger plugin (``snakemake_logger_plugin_hw1``) call it in the
Snakemake process itself.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hw1.runlog import duration

# The plan of a run (written at its start, read by the logger plugin): each job to run with
# the seconds it is expected to take and its threads.
PLAN_FILE = ".snakemake/hw1_plan.json"
# One line per figure of the report, written by the report job (the end-of-run summary).
FINDINGS_FILE = "results/findings.txt"

# What each kind of job is for, by rule name (prefix); {w} is the job's wildcards.
PURPOSE = {
    "prepare": "verify and cache the data set {dataset}",
    "make_random_labels": "draw the fixed random labels of {dataset}",
    "function_data": "the training and test grids of {function}",
    "train": "train every seed of {experiment}/{variant}",
    "analysis_minimal_ratio": "phase 2 and exact Hessians of the minimal-ratio runs",
    "analysis_error_surface": "loss landscapes around the trajectory runs",
    "analysis_interpolation": "loss along the interpolation paths",
    "analysis_flatness": "sensitivity, sharpness and top eigenvalue of every batch-size run",
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
    """A job's name in the plan: its rule and wildcards (``train:cnn_depth/mnist-cnn4``)."""
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
        left = sum(
            j.seconds * j.threads for k, j in self.jobs.items() if k not in self.finished
        )
        return self.scale * left / self.cores


def finding_line(title: str, observation: str, width: int = 240) -> str:
    """One line of a figure's observation: what holds on every data set and what differs
    when the figure has several, else its first sentence."""
    both = re.search(r"(On both .*|On neither .*|Differs: .*)$", observation)
    text = both.group(1) if both else re.split(r"(?<=[.;])\s+(?=[A-Z])", observation)[0]
    text = " ".join(text.split())
    if len(text) > width:
        text = text[: width - 1].rstrip() + "…"
    return f"{title}: {text}"


def success_summary(
    *,
    ran: int,
    up_to_date: int,
    seconds: float,
    figures: Iterable[str],
    log: str | None,
    findings_path: str = FINDINGS_FILE,
) -> str:
    """The end of a successful run: what ran, how long, where the results are, what the
    report found (one line per figure), where the full log is."""
    figures = list(figures)
    lines = [
        f"Done in {duration(seconds)}: {ran} job{'s' if ran != 1 else ''} run, "
        f"{up_to_date} up to date.",
    ]
    if Path("results/report.md").exists():
        lines.append("Report: results/homework.html and results/report.md")
    made = [f for f in figures if Path(f"results/figures/{f}.png").exists()]
    if made:
        lines.append(
            f"Figures ({len(made)}): results/figures/<name>.png and .pdf — " + ", ".join(made)
        )
    if Path(findings_path).exists():
        found = [ln for ln in Path(findings_path).read_text().splitlines() if ln.strip()]
        if found:
            lines.append("What the report found:")
            lines += [f"  - {ln}" for ln in found]
    if log:
        lines.append(f"Full Snakemake log: {log}")
    return "\n".join(lines)


_ERROR = re.compile(r"^Error in rule (\S+):$")
_EXC = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)|Traceback)\b")


def why(log_path: str | os.PathLike) -> str:
    """The one line of a job's log that says why it failed: the exception's last line (its
    type and message), or else the log's last line."""
    try:
        lines = [ln.rstrip() for ln in Path(log_path).read_text(errors="replace").splitlines()]
    except OSError:
        return "(no log written)"
    lines = [ln for ln in lines if ln.strip()]
    for ln in reversed(lines):
        if _EXC.match(ln) and not ln.startswith("Traceback"):
            return ln
    return lines[-1] if lines else "(empty log)"


def failures(snakemake_log: str) -> list[tuple[str, str, list[str]]]:
    """``(rule, first output, job logs)`` of each failed job in a Snakemake log's text (its
    "Error in rule" blocks), each job once."""
    out: dict[tuple[str, str], list[str]] = {}
    lines = snakemake_log.splitlines()
    for i, ln in enumerate(lines):
        m = _ERROR.match(ln.strip())
        if not m:
            continue
        output, logs = "", []
        for nxt in lines[i + 1 : i + 40]:
            s = nxt.strip()
            if s.startswith("output:"):
                output = s.removeprefix("output:").split(",")[0].strip()
            elif s.startswith("log:"):
                logs = [p.strip() for p in s.removeprefix("log:").split("(")[0].split(",")]
            elif not nxt.startswith((" ", "\t")) and s:
                break
        out.setdefault((m.group(1), output), [p for p in logs if p])
    return [(rule, output, logs) for (rule, output), logs in out.items()]


def failure_summary(log: str | None) -> str:
    """The end of a failed run: each failed job with the line that says why and its log."""
    text = Path(log).read_text(errors="replace") if log and Path(log).exists() else ""
    failed = failures(text)
    if not failed:
        return "The run failed" + (f"; see the full Snakemake log: {log}" if log else ".")
    lines = [f"{len(failed)} job{'s' if len(failed) != 1 else ''} failed:"]
    for rule, output, logs in failed:
        where = f" ({output})" if output else ""
        reason = why(logs[0]) if logs else "(the job has no log file)"
        lines.append(f"  - rule {rule}{where}: {reason}")
        for p in logs:
            lines.append(f"      log: {p}")
    if log:
        lines.append(f"Full Snakemake log: {log}")
    return "\n".join(lines)
