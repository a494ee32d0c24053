"""What every engine uses to state the configuration that ran (`Backend.resolved()`): the
record's model (harness.variants.resolved, re-exported here) and two helpers."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping

from harness.core.values import Scalar
from harness.variants.resolved import ResolvedConfig

__all__ = ["ResolvedConfig", "imported_versions", "known"]


def imported_versions(modules: Iterable[str]) -> dict[str, str]:
    """The versions of those of `modules` this process has imported: the libraries that ran,
    not the ones that happen to be installed (the manifest's fingerprint lists those)."""
    out: dict[str, str] = {}
    for name in modules:
        module = sys.modules.get(name)
        version = getattr(module, "__version__", None) if module is not None else None
        if version is not None:
            out[name] = str(version)
    return out


def known(values: Mapping[str, Scalar | None]) -> dict[str, Scalar]:
    """The entries that have a value (an engine's None means "the library decides", and a
    transform left unset was not applied)."""
    return {k: v for k, v in values.items() if v is not None}
