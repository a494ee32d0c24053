"""Where the built-in tasks and suites live, in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


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
