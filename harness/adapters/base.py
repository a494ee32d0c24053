"""The Adapter protocol and its registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from harness.data.base import Sample
from harness.metrics import Metric
from harness.registry import Registry
from harness.requests import Request, Response


class AdapterOptions(BaseModel):
    """Base of each adapter's `options` section in a task file."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Adapter(Protocol):
    """Turns samples into requests and responses into per-sample scores."""

    Options: ClassVar[type[AdapterOptions]]
    metrics: tuple[Metric, ...]
    conventions: Mapping[str, str]

    def requests(self, sample: Sample) -> Sequence[Request]: ...

    def score(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, float]: ...

    def output(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, Any]: ...


ADAPTERS: Registry[Any] = Registry("adapter")
