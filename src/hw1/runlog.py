"""Logging for workflow jobs (no heavy imports, so plotting jobs stay torch-free)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    """Run ``fn`` with logging to ``logfile``; a failure is written there before it propagates."""
    setup_logging(logfile)
    try:
        return fn(*args, **kwargs)
    except Exception:
        log.exception("job failed")
        raise
