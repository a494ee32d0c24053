"""Module paths of 0.2 that moved in 0.3's layout, kept importable for plugins and scripts.

`import harness.config` (say) still works: it gives the module at its new path,
`harness.suite.schema`, the same object, with a DeprecationWarning naming that path. Nothing
in limitbench itself imports an old path (the layer test would not see it as a layer).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

# old dotted path -> new dotted path; removed in 0.5
MOVED: dict[str, str] = {
    "harness.errors": "harness.core.errors",
    "harness.values": "harness.core.values",
    "harness.requests": "harness.core.requests",
    "harness.registry": "harness.core.registry",
    "harness.paths": "harness.core.paths",
    "harness.lines": "harness.core.lines",
    "harness.perf_specs": "harness.core.perf_specs",
    "harness.hub_errors": "harness.core.hub_errors",
    "harness.config": "harness.suite.schema",
    "harness.config_serving": "harness.suite.serving",
    "harness.assets": "harness.suite.sources",
    "harness.engine_envs": "harness.backends.envs",
    "harness.slo": "harness.profilers.slo",
    "harness.cli_progress": "harness.run.progress",
    "harness.cli_adhoc": "harness.cli.adhoc",
    "harness.cli_commands": "harness.cli.commands",
    "harness.run.command": "harness.cli.run_folder",
    "harness.metrics.legacy": "harness.store.migrate_metrics",
    "harness.metrics.invariance": "harness.report.analysis.audit",
    "harness.store.perf_legacy": "harness.store.migrate_perf",
    "harness.backends.hf.load": "harness.backends.shared_transformers.load",
    "harness.backends.hf.quantize": "harness.backends.shared_transformers.quantize",
    "harness.backends.hf.params": "harness.hardware.params",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} moved to {new} in limitbench 0.3; import it from there",
            DeprecationWarning,
            stacklevel=3,
        )
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        return None  # the module at its new path is already executed


def install() -> None:
    """Make the old paths importable (once per interpreter)."""
    if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
        sys.meta_path.append(_MovedModules())
