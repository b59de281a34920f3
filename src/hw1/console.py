"""The account of a run at its end: what was made, where, what the report found; or which
jobs failed, why, and where their logs are. The per-job lines and the time left are the hw1
logger's (``snakemake_logger_plugin_hw1``, which must not import this package).

Torch-free and pandas-free: the Snakefile's ``onsuccess``/``onerror`` handlers call it in
the Snakemake process itself, and the report job writes the findings file it reads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from snakemake_logger_plugin_hw1.plan import duration

# One line per figure of the report, written by the report job (the end-of-run summary).
FINDINGS_FILE = "results/findings.txt"


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
