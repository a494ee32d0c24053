"""The Ray scheduler's bookkeeping on a fake, in-process Ray (real VariantWorkers on the mock
backend): a worker dying mid-unit, a unit raising, a load failing, retries exhausted. The
real cluster is exercised in tests/test_ray_cluster.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.executors.base import Outcome
from harness.executors.progress import ClusterView
from harness.executors.scheduler import Scheduler
from harness.run.plan import plan
from harness.run.progress import NoProgress
from harness.run.runner import open_store


class FakeRayError(Exception):
    pass


class FakeTaskError(FakeRayError):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class FakeRef:
    def __init__(self, call: Callable[[], Any]) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        try:
            self.value = call()
        except FakeRayError as err:
            self.error = err
        except Exception as err:
            self.error = FakeTaskError(err)


class FakeActor:
    """Runs each call at once, in submission order, like a one-at-a-time Ray actor.
    `die_at[(variant, task)]` lists the attempts on which the worker process dies."""

    def __init__(self, ray: FakeRay, worker: Any) -> None:
        self.ray, self.worker, self.dead = ray, worker, False
        self.load = SimpleNamespace(remote=lambda: self._call("load"))
        self.run = SimpleNamespace(remote=lambda task: self._call("run", task))

    def _call(self, method: str, *args: str) -> FakeRef:
        def call() -> Any:
            key = (self.worker.variant.id, args[0] if args else "load")
            self.ray.attempts[key] += 1
            if self.dead or self.ray.attempts[key] in self.ray.die_at.get(key, ()):
                self.dead = True
                raise FakeRayError("ActorDiedError: the worker process died")
            if self.ray.attempts[key] in self.ray.raise_at.get(key, ()):
                raise RuntimeError("boom")
            return getattr(self.worker, method)(*args)

        return FakeRef(call)


class FakeRay:
    exceptions = SimpleNamespace(RayError=FakeRayError, RayTaskError=FakeTaskError)

    def __init__(self, **faults: dict[tuple[str, str], tuple[int, ...]]) -> None:
        self.die_at = faults.get("die_at", {})
        self.raise_at = faults.get("raise_at", {})
        self.attempts: Counter[tuple[str, str]] = Counter()
        self.actors = 0

    def remote(self, cls: type) -> Any:
        def create(*args: Any) -> FakeActor:
            self.actors += 1
            return FakeActor(self, cls(*args))

        return SimpleNamespace(options=lambda **_: SimpleNamespace(remote=create))

    def wait(self, refs: list[FakeRef], **_: Any) -> tuple[list[FakeRef], list[FakeRef]]:
        return refs[:1], refs[1:]

    def get(self, ref: FakeRef, timeout: float | None = None) -> Any:
        if ref.error is not None:
            raise ref.error
        return ref.value

    def kill(self, actor: FakeActor, no_restart: bool) -> None:
        actor.dead = True


def _run(tmp_path: Path, suite: Path, ray: FakeRay, retries: int = 2) -> tuple[Outcome, Any]:
    p = plan(suite, None)
    store, done = open_store(p, tmp_path / "run", False)
    outcome = Scheduler(ray, p, store, done, ClusterView(NoProgress(), 0), retries).run()
    return outcome, Counter(r.unit_key for r in store.records())


MODELS = [{"name": f"m{i}", "source": "x", "backend": "mock"} for i in range(2)]


@pytest.mark.e2e
def test_all_units_once_without_faults(tmp_path: Path, ppl_suite: Any) -> None:
    ray = FakeRay()
    outcome, units = _run(tmp_path, ppl_suite(MODELS, tasks=2), ray)
    assert outcome.ran == 4 and not outcome.failed and set(units.values()) == {1}
    assert ray.actors == 2  # one per variant


@pytest.mark.e2e
def test_worker_death_mid_unit_restarts_with_missing_units(tmp_path: Path, ppl_suite: Any) -> None:
    ray = FakeRay(die_at={("m0", "ppl_1"): (1,)})
    outcome, units = _run(tmp_path, ppl_suite(MODELS, tasks=2), ray)
    assert outcome.ran == 4 and not outcome.failed and set(units.values()) == {1}
    assert ray.attempts[("m0", "ppl_0")] == 1  # finished before the death: not rerun
    assert ray.attempts[("m0", "ppl_1")] == 2 and ray.actors == 3


@pytest.mark.e2e
def test_unit_failing_past_retries_is_reported_and_others_go_on(
    tmp_path: Path, ppl_suite: Any
) -> None:
    ray = FakeRay(die_at={("m1", "ppl_0"): (1, 2)}, raise_at={("m0", "ppl_0"): (1,)})
    outcome, units = _run(tmp_path, ppl_suite(MODELS, tasks=2), ray, retries=1)
    assert [(f.variant_id, f.task, f.attempts) for f in outcome.failed] == [("m1", "ppl_0", 2)]
    assert "worker died" in outcome.failed[0].reason
    assert set(units) == {("m0", "ppl_0"), ("m0", "ppl_1"), ("m1", "ppl_1")}
    assert set(units.values()) == {1}
    assert ray.attempts[("m0", "ppl_0")] == 2  # raised once, retried on the same actor


@pytest.mark.e2e
def test_load_failure_strikes_every_unit_of_the_variant(tmp_path: Path, ppl_suite: Any) -> None:
    ray = FakeRay(raise_at={("m0", "load"): (1, 2, 3)})
    outcome, units = _run(tmp_path, ppl_suite(MODELS, tasks=2), ray)
    assert {(f.variant_id, f.task) for f in outcome.failed} == {("m0", "ppl_0"), ("m0", "ppl_1")}
    assert all(f.reason == "loading failed: RuntimeError: boom" for f in outcome.failed)
    assert set(units) == {("m1", "ppl_0"), ("m1", "ppl_1")}
    assert ray.attempts[("m0", "load")] == 3  # one load per attempt, not one per unit
