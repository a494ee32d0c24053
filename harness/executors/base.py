"""The executor choice and what every executor returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from harness.core.errors import UserError
from harness.core.registry import Registry
from harness.run.plan import Plan
from harness.run.progress import ProgressSink
from harness.store.records import RunStore

# `limitbench run` exit codes: 0 all units finished, 1 gate regression (gate only),
# 2 bad input, 3 some units failed after their retries (the others are kept; --resume
# retries the missing ones).
EXIT_UNITS_FAILED = 3


# An executor runs the unfinished units of a plan and sends each finished one back to the
# driver, which alone writes the store. Registered with `@EXECUTORS.register(name)`.
ExecutorFn = Callable[
    [Plan, RunStore, set[tuple[str, str]], ProgressSink, "ExecutorOptions"], "Outcome"
]
EXECUTORS: Registry[ExecutorFn] = Registry(
    "executor", builtins=("harness.executors.local", "harness.executors.ray")
)


@dataclass(frozen=True)
class ExecutorOptions:
    name: str = "local"
    address: str | None = None  # Ray cluster address; None: RAY_ADDRESS or the local cluster
    max_retries: int = 2  # extra attempts of a unit whose worker died or raised
    shared_cache: str | None = None  # LIMITBENCH_CACHE for every Ray worker

    def __post_init__(self) -> None:
        EXECUTORS.get(self.name, where="option '--executor'")
        if self.max_retries < 0:
            raise UserError(f"option '--max-retries': expected 0 or more, got {self.max_retries}")
        if self.name == "local" and (self.address or self.shared_cache):
            raise UserError("options '--address' and '--shared-cache' need '--executor ray'")
        if self.name == "ray":  # before any run folder is made
            from harness.executors.ray import import_ray, probe_address

            import_ray()
            probe_address(self.address)


@dataclass(frozen=True)
class UnitFailure:
    variant_id: str
    task: str
    attempts: int
    reason: str


@dataclass(frozen=True)
class Outcome:
    ran: int
    failed: list[UnitFailure] = field(default_factory=list)


def run_units(
    p: Plan,
    store: RunStore,
    done: set[tuple[str, str]],
    sink: ProgressSink,
    options: ExecutorOptions,
) -> Outcome:
    """Run every unfinished unit with the chosen executor; the store is written here only."""
    return EXECUTORS.get(options.name)(p, store, done, sink, options)
