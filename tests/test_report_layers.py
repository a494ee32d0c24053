"""The report's own layers: analysis/ computes, sections/ words it in markdown, render/ draws
and assembles. Imports point render -> sections -> analysis only, counting imports inside
functions and under TYPE_CHECKING; matplotlib is imported by render/ alone, and no module
sits loose beside the three."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.test_package_layers import HARNESS, _imports

REPORT = HARNESS / "report"
ORDER = ("analysis", "sections", "render")


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] != ["harness", "report"] or len(parts) < 3:
        return None
    return parts[2]


def test_the_report_is_three_subpackages() -> None:
    assert sorted(p.name for p in REPORT.glob("*.py")) == ["__init__.py"]
    assert sorted(p.name for p in REPORT.iterdir() if p.is_dir() and p.name in ORDER) == sorted(
        ORDER
    )


def test_report_imports_point_down_its_layers() -> None:
    upward = []
    for layer in ORDER:
        for path in sorted((REPORT / layer).rglob("*.py")):
            for line, target in _imports(path):
                into = _layer_of(target)
                if into is None:
                    continue
                if into not in ORDER or ORDER.index(into) > ORDER.index(layer):
                    upward.append(f"{path.relative_to(HARNESS)}:{line} imports {target}")
    assert upward == []


def test_only_render_imports_matplotlib() -> None:
    found = []
    for layer in ("analysis", "sections"):
        for path in sorted((REPORT / layer).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                else:
                    continue
                if any(n.split(".")[0] == "matplotlib" for n in names):
                    found.append(f"{path.relative_to(HARNESS)}:{node.lineno}")
    assert found == []


def test_the_checker_sees_an_upward_import_in_a_function(tmp_path: Path) -> None:
    hidden = tmp_path / "hidden.py"
    hidden.write_text("def f():\n    from harness.report.render.plots import scaling_plot\n")
    assert [_layer_of(t) for _, t in _imports(hidden)] == ["render"]
