"""The tree shows the pipeline: packages sit in layers, and each imports only packages in the
layers below it — counting imports inside functions and under TYPE_CHECKING, which hide
cycles from a plain import but not from a reader. Engine folders are libraries to no one but
themselves, and no code outside them asks which engine it holds."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "harness"

# Bottom to top; a package imports only packages of an earlier layer (or its own). The
# engine folders (backends.<name>) sit above `backends` and below everything else there.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("suite",),
    ("data", "metrics", "variants"),
    ("adapters", "hardware"),
    ("backends",),
    ("backends.*",),
    ("profilers",),
    ("store",),
    ("run",),
    ("executors",),
    ("report",),
    ("gate",),
    ("export",),
    ("cli",),
)
# A folder that registers an engine; a shared module beside them (shared_transformers) is
# part of the `backends` layer that every engine may use.
ENGINE_FOLDERS = sorted(
    p.parent.name
    for p in (HARNESS / "backends").glob("*/__init__.py")
    if "BACKENDS.register(" in p.read_text(encoding="utf-8")
)


def _unit(module: str) -> str:
    """The layer unit of a dotted module: its top package, or `backends.<engine>`."""
    parts = module.split(".")[1:]
    if not parts or parts == ["__main__"]:
        return "harness"  # the package's front door may name any layer
    if parts[0] == "backends" and len(parts) > 1 and parts[1] in ENGINE_FOLDERS:
        return f"backends.{parts[1]}"
    return parts[0]


def _layer(unit: str) -> int:
    for index, layer in enumerate(LAYERS):
        if unit in layer or (unit.startswith("backends.") and "backends.*" in layer):
            return index
    raise AssertionError(f"package {unit} is in no layer: add it to LAYERS")


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "harness":
                yield from ((node.lineno, f"harness.{a.name}") for a in node.names)
            elif node.module.startswith("harness."):
                yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.startswith("harness."))


def _module(path: Path) -> str:
    return ".".join(path.relative_to(HARNESS.parent).with_suffix("").parts).removesuffix(
        ".__init__"
    )


def _edges() -> list[tuple[str, str, str]]:
    """(importing unit, imported unit, where) for every import that crosses units."""
    found = []
    for path in sorted(HARNESS.rglob("*.py")):
        source = _unit(_module(path))
        for line, target in _imports(path):
            imported = _unit(target)
            if imported != source:
                found.append((source, imported, f"{path.relative_to(HARNESS.parent)}:{line}"))
    return found


def test_no_loose_modules_at_the_top() -> None:
    loose = sorted(p.name for p in HARNESS.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py"]


def test_every_import_points_down_the_layers() -> None:
    upward = [
        f"{where}: {source} imports {target}"
        for source, target, where in _edges()
        if source != "harness"
        and target != "harness"
        and _layer(target) >= _layer(source)
        and not (source.startswith("backends.") and target == "backends")
    ]
    assert upward == []


def test_no_import_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for source, target, _ in _edges():
        graph.setdefault(source, set()).add(target)
    cycles = []
    for start in graph:
        stack: list[tuple[str, tuple[str, ...]]] = [(start, (start,))]
        seen: set[str] = set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join((*path, start)))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, (*path, nxt)))
    assert cycles == []


def test_the_checker_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    """The walk finds imports that a plain import of the module would not run."""
    hidden = tmp_path / "hidden.py"
    hidden.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from harness.cli.app import app\n"
        "def f():\n    from harness.report.render import render\n"
    )
    assert [t for _, t in _imports(hidden)] == ["harness.cli.app", "harness.report.render"]
    assert _layer(_unit("harness.report.render")) > _layer(_unit("harness.run.runner"))


def test_engine_folders_are_used_only_through_the_registry() -> None:
    """Only the engine itself (and the registry that loads it) imports an engine folder."""
    into_engines = [
        f"{where}: {source} imports {target}"
        for source, target, where in _edges()
        if target.startswith("backends.") and source != "backends"
    ]
    assert into_engines == []


def test_no_code_outside_an_engine_tests_for_an_engine() -> None:
    """Capabilities are declared on Backend and Engine: nothing outside the engine folders
    downcasts to an engine's class or compares an engine's name."""
    names = {f'"{n}"' for n in ENGINE_FOLDERS if n != "mock"} | {'"mock"'}
    found = []
    for path in sorted(HARNESS.rglob("*.py")):
        rel = path.relative_to(HARNESS)
        if rel.parts[0] == "backends":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                text = ast.unparse(node.args[1])
                if text.endswith("Backend") and text != "Backend":
                    found.append(f"{rel}:{node.lineno} isinstance(..., {text})")
            if isinstance(node, ast.Compare) and any(
                isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
            ):
                text = ast.unparse(node)
                if any(name in text for name in names) and "engine" in text + "backend":
                    found.append(f"{rel}:{node.lineno} {text}")
    assert found == []


def test_old_module_paths_still_import_with_a_warning() -> None:
    """0.2's paths (plugins and scripts import them) give the module at its new path."""
    import importlib
    import sys

    import pytest

    from harness.core.moved import MOVED

    for old, new in MOVED.items():
        sys.modules.pop(old, None)
        with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
            module = importlib.import_module(old)
        assert module is importlib.import_module(new)
        sys.modules.pop(old, None)
    from harness.suite.schema import SuiteConfig

    with pytest.warns(DeprecationWarning):
        old_schema = importlib.import_module("harness.config")
    assert old_schema.SuiteConfig is SuiteConfig
