"""The size rules the README promises for the engine, checked rather than hoped for: no
module over 300 lines and no function over 60 (split by responsibility when one grows)."""

from __future__ import annotations

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "harness"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def _sources() -> dict[str, str]:
    return {
        str(path.relative_to(HARNESS)): path.read_text(encoding="utf-8")
        for path in sorted(HARNESS.rglob("*.py"))
    }


def test_modules_stay_within_300_lines() -> None:
    lines = {name: len(text.splitlines()) for name, text in _sources().items()}
    assert lines, "no modules found"
    assert {n: k for n, k in lines.items() if k > MAX_MODULE_LINES} == {}


def test_functions_stay_within_60_lines() -> None:
    long = {}
    for name, text in _sources().items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{name}:{node.lineno} {node.name}"] = length
    assert long == {}
