"""The Backend protocol, what it reports about itself, and its registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.config import ModelConfig
from harness.registry import Registry
from harness.requests import (
    Generate,
    GenerateResponse,
    LogLikelihood,
    LogLikelihoodResponse,
    RollingLogLikelihood,
    RollingResponse,
)
from harness.values import Scalar

Progress = Callable[[int], None]  # called with the number of requests just finished


@dataclass(frozen=True)
class BackendInfo:
    model: str
    source: str
    n_params: int
    dtype: str
    device: str
    weight_bytes: int
    max_length: int
    details: Mapping[str, Scalar] = field(default_factory=dict)


class Backend(Protocol):
    info: BackendInfo

    def loglikelihood(
        self, reqs: Sequence[LogLikelihood], progress: Progress | None = None
    ) -> list[LogLikelihoodResponse]: ...

    def loglikelihood_rolling(
        self, reqs: Sequence[RollingLogLikelihood], progress: Progress | None = None
    ) -> list[RollingResponse]: ...

    def generate(
        self, reqs: Sequence[Generate], progress: Progress | None = None
    ) -> list[GenerateResponse]: ...

    def count_tokens(self, text: str) -> int: ...

    def synchronize(self) -> None: ...


BackendFactory = Callable[[ModelConfig, Mapping[str, Scalar], Path], Backend]
BACKENDS: Registry[BackendFactory] = Registry("backend", builtins=("harness.backends",))
