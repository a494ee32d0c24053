"""Where things live: the built-in tasks and suites (in a checkout and in an installed
wheel) and the cache (`$LIMITBENCH_CACHE`, default ~/.cache/limitbench)."""

from __future__ import annotations

import os
import re
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


_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9_.\-]")


def is_folder_name(name: str) -> bool:
    """A name that makes exactly one new folder where it is joined: no separator, no `..`,
    not `.`. A suite, run or baseline name read from a file may come from someone else."""
    return bool(name) and not _UNSAFE_IN_NAME.search(name) and set(name) != {"."}


def as_folder_name(name: str) -> str:
    """`name` made safe to join as one folder: other characters become `_`, and a name of
    dots alone (`.`, `..`) has its dots replaced too."""
    safe = _UNSAFE_IN_NAME.sub("_", name) or "_"
    return safe.replace(".", "_") if set(safe) == {"."} else safe


def inside(path: Path, root: Path) -> bool:
    """Whether `path`, links and `..` resolved, lies within `root`."""
    return path.resolve().is_relative_to(root.resolve())
