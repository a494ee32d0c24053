"""The local executor: today's loop in this process (harness.run.runner.execute)."""

from __future__ import annotations

from harness.executors.base import EXECUTORS, ExecutorOptions, Outcome
from harness.run.plan import Plan
from harness.run.progress import ProgressSink
from harness.run.runner import execute
from harness.store.records import RunStore


@EXECUTORS.register("local")
def run_local(
    p: Plan,
    store: RunStore,
    done: set[tuple[str, str]],
    sink: ProgressSink,
    options: ExecutorOptions,
) -> Outcome:
    """A failing unit stops the run here, as it always has (exit 2 with the reason)."""
    return Outcome(ran=execute(p, store, done, sink))
