"""The ``hw1`` Snakemake logger (``snakemake --logger hw1``; the workflow's default profile
sets it): a console a person can follow.

One line per job — its number, rule, wildcards and what it is for (:func:`plan.purpose`)
— and after each finished job the overall progress with an estimate of the time left
(:class:`plan.TimeLeft`: the expected seconds of the jobs not yet finished, from the
workflow's cost estimates or an earlier run's benchmark files, written to
``.snakemake/hw1_plan.json`` when the run starts, scaled by how the finished jobs compared).
Warnings and errors pass through; Snakemake's full detail (every job's inputs, outputs and
reasons) stays in its log file (``.snakemake/log/``) and on the console with
``--logger-hw1-detail``. The end-of-run account (what was made, what failed and why) comes
from the workflow's ``onsuccess``/``onerror`` handlers.
"""

import logging
import sys
import time
from dataclasses import dataclass, field

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase

from snakemake_logger_plugin_hw1.plan import (
    PLAN_FILE,
    TimeLeft,
    duration,
    job_key,
    purpose,
    read_plan,
)

# Snakemake's own chatter that a person following the run does not need on the console (it
# stays in the log file).
QUIET_PREFIXES = (
    "Building DAG of jobs",
    "Using shell:",
    "Rules claiming more threads",
    "Select jobs to execute",
    "Execute ",
    "Assuming unrestricted shared filesystem",
    "Using workflow specific profile",
    "host:",
    "Finished jobid",
    "Complete log",
    "Conda environments: ignored",
)


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    detail: bool = field(
        default=False,
        metadata={
            "help": "also print Snakemake's full output (every job's inputs, outputs, "
            "reasons and resources) to the console",
            "env_var": False,
            "required": False,
        },
    )


class LogHandler(LogHandlerBase):
    """One line per job, progress with the time left, warnings and errors."""

    def __post_init__(self) -> None:
        self.stream = sys.stderr
        self.t0 = time.time()
        self.started: dict[int, tuple[str, float]] = {}  # jobid -> (plan key, start time)
        self.time_left: TimeLeft | None = None
        cs = self.common_settings
        quiet = {str(getattr(q, "name", q)).lower() for q in (cs.quiet or ())}
        self.quiet_rules = bool(quiet & {"rules", "all"})
        self.quiet_progress = bool(quiet & {"progress", "all"})
        self.dryrun = bool(cs.dryrun)
        self.detail = None
        if self.settings is not None and getattr(self.settings, "detail", False):
            from snakemake.logging import ColorizingTextHandler, DefaultFilter, DefaultFormatter

            self.detail = ColorizingTextHandler(
                nocolor=cs.nocolor,
                stream=self.stream,
                formatter=DefaultFormatter(cs.quiet, cs.show_failed_logs),
                filter=DefaultFilter(
                    cs.quiet, cs.debug_dag, cs.verbose, cs.dryrun, cs.printshellcmds
                ),
            )

    @property
    def writes_to_stream(self) -> bool:
        return True

    @property
    def writes_to_file(self) -> bool:
        return False

    @property
    def has_filter(self) -> bool:
        return True

    @property
    def has_formatter(self) -> bool:
        return True

    @property
    def needs_rulegraph(self) -> bool:
        return False

    def write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.detail is not None:
                self.detail.handle(record)
            self._emit(record)
        except Exception:  # a console line must never stop the run
            self.handleError(record)

    def _plan(self) -> TimeLeft:
        if self.time_left is None:
            cores, jobs = read_plan(PLAN_FILE)
            self.time_left = TimeLeft(cores, jobs)
        return self.time_left

    def _emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        d = record.__dict__
        if event == LogEvent.JOB_INFO:
            if self.quiet_rules:
                return
            rule, wc = d.get("rule_name", "?"), dict(d.get("wildcards") or {})
            jobid = int(d.get("jobid", -1))
            key = job_key(rule, wc)
            self.started[jobid] = (key, time.time())
            job = self._plan().jobs.get(key)
            est = f", ~{duration(job.seconds)}" if job is not None and job.seconds >= 20 else ""
            where = " ".join(f"{k}={v}" for k, v in wc.items())
            head = "would run" if self.dryrun else f"[{time.strftime('%H:%M:%S')}] start"
            self.write(
                f"{head} {rule}" + (f" {where}" if where else "") + f" — {purpose(rule, wc)}{est}"
            )
        elif event == LogEvent.JOB_FINISHED:
            key, t = self.started.pop(int(d.get("job_id", -1)), (None, None))
            if key is not None:
                self._plan().finish(key, time.time() - t)
        elif event == LogEvent.PROGRESS:
            if self.quiet_progress:
                return
            done, total = int(d.get("done", 0)), int(d.get("total", 0))
            pct = 100.0 * done / total if total else 100.0
            line = (
                f"           {done} of {total} jobs done ({pct:.0f}%), "
                f"{duration(time.time() - self.t0)} elapsed"
            )
            plan = self._plan()
            if done < total and plan.jobs:
                line += f", about {duration(plan.seconds_left())} left"
            self.write(line)
        elif event == LogEvent.JOB_ERROR:
            rule = d.get("rule_name", "?")
            logs = ", ".join(d.get("log") or []) or "no log file"
            self.write(f"[{time.strftime('%H:%M:%S')}] FAILED {rule} — see {logs}")
        elif event == LogEvent.RUN_INFO:  # the job counts of the run, per rule
            self.write(record.getMessage())
        elif event == LogEvent.RESOURCES_INFO:  # the cores and resources of the run
            msg = record.getMessage() if record.msg is not None else ""
            if msg:
                self.write(msg)
        elif event == LogEvent.SHELLCMD:
            return
        elif event is None or event == LogEvent.ERROR:
            msg = record.getMessage() if record.msg is not None else ""
            if not msg or (
                record.levelno < logging.WARNING and msg.lstrip().startswith(QUIET_PREFIXES)
            ):
                return
            if record.levelno == logging.DEBUG:
                return
            self.write(msg)
