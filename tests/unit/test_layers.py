"""The package's import graph runs one way: from the figure side down to io. A module may
import its own package's modules and modules of lower layers, never a higher layer or a
sibling package of its layer (tables, figures and summaries do not import each other).
Function-level imports count too."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

SRC = REPO / "src" / "hw1"

# lowest first; a module's unit is its top-level name under hw1 (analysis.pca -> analysis)
LAYERS: list[set[str]] = [
    {"io", "datasets", "schema", "grids", "papers", "stats", "mkl"},
    {"architectures", "catalogue", "codedeps", "runtime", "runlog"},
    {"config", "runs", "models", "data", "console", "resources", "trainspec"},
    {"stacked"},
    {"engine"},
    {"analysis"},
    {"jobs"},
    {"tables", "figures", "summaries"},
    {"report"},
]
LAYER = {unit: i for i, units in enumerate(LAYERS) for unit in units}


def unit_of(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    return rel.parts[0]


def hw1_imports(path: Path) -> set[str]:
    """Units of hw1 that ``path`` imports (anywhere in the file)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for n in names:
            parts = n.split(".")
            if (parts[0] == "hw1" and len(parts) > 1 and (SRC / parts[1]).exists()) or (
                parts[0] == "hw1" and len(parts) > 1 and (SRC / f"{parts[1]}.py").exists()
            ):
                out.add(parts[1])
    return out


def test_every_module_has_a_layer():
    units = {unit_of(p) for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC}
    assert units <= set(LAYER), sorted(units - set(LAYER))


def violations(paths: list[Path]) -> list[str]:
    """Imports of ``paths`` that go up or across the layers."""
    bad = []
    for path in paths:
        unit = unit_of(path)
        for dep in sorted(hw1_imports(path)):
            if dep != unit and LAYER[dep] >= LAYER[unit]:
                bad.append(f"{path.relative_to(SRC)} imports hw1.{dep}")
    return bad


def modules() -> list[Path]:
    return [
        p for p in sorted(SRC.rglob("*.py")) if not (p.parent == SRC and p.name == "__init__.py")
    ]


def test_imports_only_run_down_the_layers():
    bad = violations(modules())
    assert not bad, "imports up or across the layers:\n" + "\n".join(bad)


def test_the_layer_check_sees_a_violation():
    """The check itself bites: an analysis module importing a table builder (the old route
    from runs to tables went that way), and a table module importing a figure module."""
    probes = {
        SRC / "analysis" / "_layer_probe.py": "def f():\n    from hw1.tables import build_table\n",
        SRC / "tables" / "_layer_probe.py": "from hw1.figures import render\n",
    }
    try:
        for path, text in probes.items():
            path.write_text(text)
        assert violations(list(probes)) == [
            "analysis/_layer_probe.py imports hw1.tables",
            "tables/_layer_probe.py imports hw1.figures",
        ]
    finally:
        for path in probes:
            path.unlink(missing_ok=True)
