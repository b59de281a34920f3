"""Collect the per-homework-part registries (``part*`` modules) of a package."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import Any


def collect(package: str, path: Iterable[str], attr: str) -> dict[str, Any]:
    """Merge the ``attr`` dicts of every ``part*`` module of ``package`` (found on ``path``)."""
    out: dict[str, Any] = {}
    for mod in pkgutil.iter_modules(path):
        if mod.name.startswith("part"):
            out.update(getattr(importlib.import_module(f"{package}.{mod.name}"), attr))
    return out
