"""What runs inside a Ray actor on some node: one loaded variant, one unit per call.

Kept free of Ray imports at module level so it can be imported (and tested) without Ray;
the scheduler wraps it with `ray.remote` on the driver.
"""

from __future__ import annotations

import gc
import os
import socket
from pathlib import Path

from harness.run.load import LoadedVariant, load_variant
from harness.run.plan import Plan
from harness.run.progress import NoProgress
from harness.run.runner import run_unit
from harness.run.unit import UnitResult
from harness.variants import Variant


def node_label() -> str:
    """Host and a short Ray node id: two nodes on one host stay distinguishable."""
    try:
        import ray

        node = ray.get_runtime_context().get_node_id()[:8]
    except (ImportError, RuntimeError, AttributeError):
        node = "local"
    return f"{socket.gethostname()}/{node} pid {os.getpid()}"


class VariantWorker:
    """Holds one variant's model. The plan (tasks with their sampled rows) comes from the
    driver; the model is resolved here, from this node's own cache (LIMITBENCH_CACHE)."""

    def __init__(self, p: Plan, variant: Variant, base_dir: Path, run_id: str) -> None:
        self.plan = p
        self.variant = variant
        self.base_dir = base_dir
        self.run_id = run_id
        self.loaded: LoadedVariant | None = None

    def load(self) -> str:
        """Resolve and load the model (not part of any unit's measurement); returns the node."""
        self.loaded = load_variant(self.variant, self.base_dir)
        gc.collect()
        return node_label()

    def run(self, task_name: str) -> UnitResult:
        if self.loaded is None:
            raise RuntimeError(f"variant '{self.variant.id}' is not loaded on this worker")
        task = next(t for t in self.plan.tasks if t.name == task_name)
        return run_unit(self.plan, self.run_id, self.variant, self.loaded, task, NoProgress())
