"""Where things live: the built-in tasks and suites (in a checkout and in an installed
wheel) and the cache (`$LIMITBENCH_CACHE`, default ~/.cache/limitbench)."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # harness/


def builtin_dir(kind: str) -> Path:
    """`tasks` or `suites`: the repo's top-level folder, or its copy inside the wheel."""
    in_checkout = _PACKAGE.parent / kind
    if in_checkout.is_dir():
        return in_checkout
    return _PACKAGE / "_builtin" / kind


def find_suite(name_or_path: str) -> Path:
    """A path as given, or the name of a built-in suite."""
    path = Path(name_or_path)
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    return builtin_dir("suites") / f"{name_or_path}.yaml"


def cache_dir() -> Path:
    """The cache of fetched packages, converted models, built wheels and engine environments."""
    root = os.environ.get("LIMITBENCH_CACHE") or Path.home() / ".cache" / "limitbench"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path
