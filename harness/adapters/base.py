"""The Adapter protocol and its registry."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, JsonValue

from harness.core.registry import Registry
from harness.core.requests import Embed, LogLikelihood, Request, Response
from harness.core.values import Value
from harness.data.base import Sample
from harness.metrics import Metric
from harness.suite.schema import TaskConfig


class AdapterOptions(BaseModel):
    """Base of each adapter's `options` section in a task file."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Adapter(Protocol):
    """Turns samples into requests and responses into per-sample scores."""

    # Read-only members, so an adapter may hold them as tuples, dicts or class attributes.
    @property
    def metrics(self) -> tuple[Metric, ...]: ...

    @property
    def conventions(self) -> Mapping[str, str]: ...

    def requests(self, sample: Sample) -> Sequence[Request]: ...

    def score(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, float]: ...

    def output(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, JsonValue]: ...


@dataclass(frozen=True)
class ShotPicker:
    """k examples per sample, drawn from a separate pool with a seed tied to the sample id."""

    pool: Sequence[Sample]
    k: int
    seed: int

    def pick(self, sample: Sample) -> list[Sample]:
        if self.k == 0:
            return []
        candidates = [s for s in self.pool if s.id != sample.id]
        rng = random.Random(f"{self.seed}:{sample.id}")
        return rng.sample(candidates, min(self.k, len(candidates)))


NO_SHOTS = ShotPicker((), 0, 0)


@dataclass(frozen=True)
class AdapterContext:
    """What an adapter is built with besides its options: the task file, the suite's seed
    and, for adapters that take examples, the k-shot picker."""

    task: TaskConfig
    seed: int
    shots: ShotPicker = NO_SHOTS


class AdapterFactory(Protocol):
    """An adapter class: its options model, whether it uses `fewshot`, and its constructor."""

    # Plain (not ClassVar) members: a class object matches a protocol only through these.
    Options: type[AdapterOptions]
    uses_fewshot: bool

    def __call__(self, options: Any, context: AdapterContext) -> Adapter: ...


ADAPTERS: Registry[AdapterFactory] = Registry("adapter", builtins=("harness.adapters",))


@dataclass(frozen=True)
class UnitScores:
    """Per-sample scores of one unit, and what scoring itself cost (a probe's fitting)."""

    scores: Sequence[Mapping[str, float]]
    perf: dict[str, Value] = field(default_factory=dict)
    conventions: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class ScoresTogether(Protocol):
    """An adapter whose per-sample scores depend on the unit's other samples (a probe
    cross-fitted over them) scores them all at once."""

    def score_all(
        self, samples: Sequence[Sample], responses: Sequence[Sequence[Response]]
    ) -> UnitScores: ...


@runtime_checkable
class HasEncoderPath(Protocol):
    """An adapter that can run its task on an encoder (Embed requests) as well."""

    def encoder_path(self) -> Adapter: ...


def for_engine(adapter: Adapter, answers: frozenset[type[Request]]) -> Adapter:
    """The adapter's path for an engine that answers `answers`: an encoder (embeddings, no
    log-likelihoods) runs a task by its encoder path where the adapter has one."""
    encoder = Embed in answers and LogLikelihood not in answers
    return adapter.encoder_path() if encoder and isinstance(adapter, HasEncoderPath) else adapter


def score_unit(
    adapter: Adapter, samples: Sequence[Sample], responses: Sequence[Sequence[Response]]
) -> UnitScores:
    if isinstance(adapter, ScoresTogether):
        return adapter.score_all(samples, responses)
    return UnitScores([adapter.score(s, r) for s, r in zip(samples, responses, strict=True)])
