"""Logging for workflow jobs (no heavy imports, so plotting jobs stay torch-free)."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from snakemake_logger_plugin_hw1.plan import duration

log = logging.getLogger("hw1")


def setup_logging(logfile: str | os.PathLike | None) -> None:
    """Send log records to ``logfile`` (the rule's ``log:``), or to stderr when none."""
    handlers: list[logging.Handler] = []
    if logfile:
        Path(logfile).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(logfile, mode="w"))
    else:
        handlers.append(logging.StreamHandler())
    logging.basicConfig(
        level=logging.INFO,
        handlers=handlers,
        force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def logged(logfile: str | os.PathLike | None, fn: Callable[..., Any], *args, **kwargs) -> Any:
    """Run ``fn`` with logging to ``logfile``. A failure's traceback is written there; the
    console (the job's stderr) gets the one line that says why and where the log is, and
    the job exits with status 1."""
    setup_logging(logfile)
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        log.exception("job failed")
        if logfile is None:
            raise
        why = f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}".splitlines()[0]
        print(f"{why.removeprefix('builtins.')} (traceback in {logfile})", file=sys.stderr)
        raise SystemExit(1) from None


def rule_inputs(inputs: Mapping[str, Any]) -> dict[str, list[str]]:
    """A rule's named input files (``snakemake.input``) as lists of paths, without ``code``
    (the package files the job runs: a rerun trigger, not something it reads)."""
    return {k: [v] if isinstance(v, str) else list(v) for k, v in inputs.items() if k != "code"}


class Progress:
    """Progress of one long loop in a job's log: ``what: i/n (p%), elapsed, about T left``.

    The time left is the elapsed time per unit so far times the units left (a unit is an
    epoch, a Hessian column, a grid chunk, a model). A line is written when a tenth of the
    units more are done, or ``interval`` seconds after the last line, and at the end; never
    more often than ``min_gap`` seconds apart, so a tight loop logs a handful of lines.
    """

    def __init__(
        self,
        what: str,
        total: int,
        *,
        logger: logging.Logger = log,
        interval: float = 60.0,
        min_gap: float = 2.0,
        start: int = 0,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.what, self.total, self.log = what, max(int(total), 0), logger
        self.interval, self.min_gap, self.clock = interval, min_gap, clock
        self.start_done = int(start)
        self.t0 = self.last_t = clock()
        self.last_done = int(start)

    def eta(self, done: int) -> float | None:
        """Seconds left at ``done`` units, from the rate so far (None before any unit)."""
        moved = done - self.start_done
        if moved <= 0:
            return None
        return (self.clock() - self.t0) / moved * max(self.total - done, 0)

    def line(self, done: int, detail: str = "") -> str:
        pct = 100.0 * done / self.total if self.total else 100.0
        left = self.eta(done)
        tail = "" if left is None or done >= self.total else f", about {duration(left)} left"
        extra = f"; {detail}" if detail else ""
        return (
            f"{self.what}: {done}/{self.total} ({pct:.0f}%), "
            f"{duration(self.clock() - self.t0)} elapsed{tail}{extra}"
        )

    def update(self, done: int, detail: str = "", *, force: bool = False) -> bool:
        """Log the progress at ``done`` units when due (or ``force``); True if it logged."""
        now = self.clock()
        tenth = max(1, self.total // 10)
        due = (
            force
            or done >= self.total
            or done - self.last_done >= tenth
            or now - self.last_t >= self.interval
        )
        if not due or (now - self.last_t < self.min_gap and done < self.total and not force):
            return False
        self.log.info("%s", self.line(done, detail))
        self.last_t, self.last_done = now, done
        return True
