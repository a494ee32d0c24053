"""Driver side of a Ray run: one actor per variant, one call per unit, results streamed back
unit by unit and appended by the driver, so a killed driver keeps every finished unit.

Retries are the driver's, not Ray's: a unit is in flight on exactly one actor at a time and
is written exactly once. When an actor dies (its process killed, its node lost), the unit it
was running gets a strike and the variant restarts on a new actor with its missing units;
a unit that raised gets a strike and is queued again on the same, still loaded, actor. A unit
with more strikes than --max-retries is reported failed and the others go on.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.executors.base import Outcome, UnitFailure
from harness.executors.progress import ClusterView
from harness.executors.worker import VariantWorker
from harness.run.commit import commit_unit
from harness.run.plan import Plan
from harness.run.unit import UnitResult
from harness.store.records import RunStore
from harness.variants import Variant

DRAIN_TIMEOUT_S = 30.0
REASON_CHARS = 240


@dataclass
class VariantState:
    variant: Variant
    pending: list[str]  # its unfinished tasks, in the order its actor runs them
    actor: Any = None
    node: str | None = None  # set once the current actor has loaded the model
    refs: list[Any] = field(default_factory=list)  # the current actor's outstanding calls


class Scheduler:
    def __init__(
        self,
        ray: Any,
        p: Plan,
        store: RunStore,
        done: set[tuple[str, str]],
        view: ClusterView,
        max_retries: int,
    ) -> None:
        self.ray = ray
        self.plan = p
        self.store = store
        self.view = view
        self.max_retries = max_retries
        self.run_id = store.manifest().run_id
        self.base_dir = p.suite_path.parent.resolve()
        self.worker_class = ray.remote(VariantWorker)
        self.inflight: dict[Any, tuple[VariantState, str | None]] = {}  # None: the load call
        self.strikes: Counter[tuple[str, str]] = Counter()
        self.failed: list[UnitFailure] = []
        self.ran = 0
        self.states = [
            VariantState(v, [t.name for t in p.tasks_for(v) if (v.id, t.name) not in done])
            for v in p.variants
        ]

    def run(self) -> Outcome:
        for state in self.states:
            self._start(state)
        while self.inflight:
            ready, _ = self.ray.wait(list(self.inflight), num_returns=1, timeout=1.0)
            for ref in ready:
                if ref in self.inflight:
                    self._settle(ref)
        return Outcome(self.ran, self.failed)

    def _start(self, state: VariantState, why: str = "done") -> None:
        """A fresh actor for the variant's missing units (none left: release its node)."""
        self._release(state, why)
        if not state.pending:
            return
        variant = state.variant
        own_plan = dataclasses.replace(self.plan, tasks=self.plan.tasks_for(variant))
        options = _actor_options(variant)
        state.actor = self.worker_class.options(**options).remote(
            own_plan, variant, self.base_dir, self.run_id
        )
        self._call(state, None)
        for task in state.pending:
            self._call(state, task)

    def _call(self, state: VariantState, task: str | None) -> None:
        ref = state.actor.load.remote() if task is None else state.actor.run.remote(task)
        self.inflight[ref] = (state, task)
        state.refs.append(ref)

    def _release(self, state: VariantState, why: str = "done") -> None:
        for ref in state.refs:
            self.inflight.pop(ref, None)
        state.refs.clear()
        if state.node is not None:
            self.view.running(state.node, f"{state.variant.id} {why}")
        state.node = None
        if state.actor is not None:
            self.ray.kill(state.actor, no_restart=True)
            state.actor = None

    def _settle(self, ref: Any) -> None:
        state, task = self.inflight[ref]
        first = state.refs[0]
        if task is not None and self.inflight[first][1] is None:
            # The actor ran its load before this call: settle that first, so a failed load
            # is seen as one (and not as each unit's "not loaded" error).
            self._settle(first)
            if ref not in self.inflight:
                return
        self.inflight.pop(ref)
        state.refs.remove(ref)
        errors = self.ray.exceptions
        try:
            value = self.ray.get(ref)
        except errors.RayTaskError as err:  # the call raised; the actor lives on
            reason = _reason(err)
            if task is None:
                self._strike(state, list(state.pending), f"loading failed: {reason}")
                self._start(state, "failed to load")
            else:
                self._retry_on_same_actor(state, task, reason)
            return
        except errors.RayError as err:  # the actor died: process killed, node lost, OOM
            self._actor_died(state, _reason(err))
            return
        if task is None:
            state.node = str(value)
            self._show_running(state)
        else:
            self._unit_done(state, task, value)

    def _unit_done(self, state: VariantState, task: str, result: UnitResult) -> None:
        commit_unit(self.plan, self.store, result)
        state.pending.remove(task)
        self.ran += 1
        self.view.finished()
        if state.pending:
            self._show_running(state)
        else:
            self._release(state)

    def _retry_on_same_actor(self, state: VariantState, task: str, reason: str) -> None:
        self._strike(state, [task], reason)
        if task in state.pending:  # move it behind the queued units, where its new call runs
            state.pending.remove(task)
            state.pending.append(task)
            self._call(state, task)
        if not state.pending:
            self._release(state)

    def _actor_died(self, state: VariantState, reason: str) -> None:
        """Keep what the dead actor finished, strike what it was running, start afresh."""
        loaded = state.node is not None
        outstanding = list(state.refs)
        if outstanding:
            self.ray.wait(outstanding, num_returns=len(outstanding), timeout=DRAIN_TIMEOUT_S)
        for ref in outstanding:  # submission order: the load, then units in run order
            if ref not in self.inflight:  # released: the variant's last unit just finished
                continue
            _, queued = self.inflight[ref]
            result = self._result_or_none(ref)
            if queued is None:
                loaded = loaded or result is not None
            elif result is not None:
                self.inflight.pop(ref)
                state.refs.remove(ref)
                self._unit_done(state, queued, result)
        culprits = (state.pending[:1] if loaded else list(state.pending)) if state.pending else []
        where = f" on {state.node}" if state.node else ""
        self._strike(state, culprits, f"worker died{where}: {reason}")
        self._start(state, "worker died")

    def _result_or_none(self, ref: Any) -> Any:
        try:
            return self.ray.get(ref, timeout=0)
        except self.ray.exceptions.RayError:
            return None

    def _strike(self, state: VariantState, tasks: list[str], reason: str) -> None:
        for task in tasks:
            key = (state.variant.id, task)
            self.strikes[key] += 1
            if self.strikes[key] > self.max_retries:
                state.pending.remove(task)
                failure = UnitFailure(state.variant.id, task, self.strikes[key], reason)
                self.failed.append(failure)
                self.view.failed(failure)
            else:
                self.view.note(f"retrying {state.variant.id} · {task}: {reason}")

    def _show_running(self, state: VariantState) -> None:
        if state.node is not None and state.pending:
            self.view.running(state.node, f"{state.variant.id} · {state.pending[0]}")


def _actor_options(variant: Variant) -> dict[str, Any]:
    resources = variant.model.resources
    options: dict[str, Any] = {
        "num_cpus": resources.num_cpus,
        "num_gpus": resources.num_gpus,
        "max_restarts": 0,  # the scheduler restarts variants itself, with only missing units
        "max_task_retries": 0,
    }
    if resources.memory_gb is not None:
        options["memory"] = int(resources.memory_gb * 2**30)
    return options


def _reason(err: BaseException) -> str:
    """The root cause's one-line message, not Ray's wrapped traceback."""
    cause = getattr(err, "cause", None) or err
    text = str(cause).strip().splitlines()
    name = type(cause).__name__
    line = text[-1] if text else ""
    if len(line) > REASON_CHARS:
        line = line[:REASON_CHARS].rsplit(" ", 1)[0] + " …"
    return f"{name}: {line}".strip()
