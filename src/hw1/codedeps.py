"""The package source files a workflow job runs, so that a job reruns when its code changes.

Snakemake's own ``code`` trigger sees only the thin ``workflow/scripts/*.py``; the science is
in this package. Each rule therefore lists, as its ``code`` input, the ``hw1`` modules its
script imports and everything they import in turn (function-level imports included), plus
the catalogue functions it resolves by name (a figure's table, drawing or summary module).
A change to one of those files makes the job's outputs older than an input, so the job and
what depends on it rerun; a change elsewhere (another homework part's figures, say) does
not. Any edit of a listed file counts, comments and formatting included: the rule is the
file, not its meaning. Torch-free (parse time).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent  # src/hw1


def module_file(name: str) -> Path | None:
    """The source file of ``hw1.x.y`` (a module or a package's ``__init__``), if any."""
    parts = name.split(".")
    if parts[0] != "hw1":
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


@cache
def imports_of(path: Path) -> frozenset[str]:
    """The ``hw1`` modules that ``path`` imports anywhere in the file."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from hw1.x import y`: y may be a module
                if module_file(f"{node.module}.{alias.name}"):
                    out.add(f"{node.module}.{alias.name}")
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return frozenset(m for m in out if module_file(m))


def closure(modules: Iterable[str]) -> set[str]:
    """``modules`` and every ``hw1`` module they import, transitively, with the packages
    that hold them (``hw1``, ``hw1.tables``, ...: Python runs their ``__init__`` too)."""
    todo, seen = list(modules), set()
    while todo:
        name = todo.pop()
        if name in seen or module_file(name) is None:
            continue
        seen.add(name)
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        todo.extend(imports_of(module_file(name)))
    return seen


def code_files(*modules: str, scripts: Iterable[str | os.PathLike] = ()) -> list[str]:
    """Sorted source files of ``modules``, of the ``hw1`` imports of ``scripts``, and of all
    they import; relative to the working directory when under it (the usual run from the
    repository), else absolute."""
    roots = set(modules)
    for script in scripts:
        roots |= imports_of(Path(script).resolve())
    cwd = Path.cwd()
    files = []
    for name in closure(roots):
        path = module_file(name)
        assert path is not None
        files.append(str(path.relative_to(cwd)) if path.is_relative_to(cwd) else str(path))
    return sorted(files)
