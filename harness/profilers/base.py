"""The Profiler protocol and the description of the work done inside a window."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from harness.backends.base import Backend
from harness.core.registry import Registry
from harness.core.requests import Response
from harness.core.values import Value


@dataclass
class Work:
    """What happened inside the window, counted with the model's own tokenizer."""

    n_requests: int = 0
    n_samples: int = 0  # the task's samples behind the requests (the cross-model unit)
    input_tokens: int = 0
    computed_tokens: int = 0  # input tokens actually run through the model (shared contexts once)
    logit_tokens: int = 0  # positions the output head ran on (scoring keeps only the scored)
    output_tokens: int = 0
    input_lengths: list[int] = field(default_factory=list)  # per request, for attention FLOPs
    latencies_s: list[float] = field(default_factory=list)
    ttfts_s: list[float] = field(default_factory=list)
    decode_steps: list[int] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)  # every answer, for per-request stats
    n_correct: float | None = None
    backend: Backend | None = None
    # What a profiler could measure only in part, by the record's `unavailable` key (e.g. a
    # server without metrics): profilers add to it in `stop`.
    unavailable: dict[str, str] = field(default_factory=dict)


class Profiler(Protocol):
    def available(self) -> str | None:
        """None when it can measure here, else the reason it cannot."""

    def start(self) -> None: ...

    def stop(self, work: Work) -> Mapping[str, Value]: ...


# A factory gets the backend the window will measure (some need its device or model).
PROFILERS: Registry[Callable[[Backend], Profiler]] = Registry(
    "profiler", builtins=("harness.profilers",)
)
