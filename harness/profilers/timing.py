"""Wall time, token throughput (saying which tokens), latency percentiles, TTFT and TPOT."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from harness.backends.base import Backend
from harness.core.perf_names import Percentiled, PerfName
from harness.core.perf_specs import Scope
from harness.core.values import Value
from harness.profilers.base import PROFILERS, Profiler, Work
from harness.profilers.percentile_ci import percentile_values


def _rate(count: int, seconds: float, unit: str, note: str) -> Value:
    return Value(value=count / seconds, unit=unit, higher_is_better=True, n=count, note=note)


def latency_scope(backend: Backend | None) -> Scope:
    """Per request where each request's own times were measured (a serving backend); per
    batch where every row of a batch carries its batch's (the transformers backend)."""
    return backend.latency_scope if backend is not None else Scope.PER_REQUEST


def percentiles(
    family: Percentiled, samples: list[float], unit: str = "s", scope: Scope = Scope.PER_REQUEST
) -> dict[str, Value]:
    """p50/p90/p99 with 95% order-statistic intervals (`percentile_ci`); per batch, the
    requests of a batch share one time, so they are not independent draws: no interval."""
    if scope is Scope.PER_REQUEST:
        found = percentile_values(family, samples, unit, "per request: each request's own time")
    else:
        note = "per batch: every request of a batch carries the batch's time"
        found = percentile_values(family, samples, unit, note, "a batch's requests share its time")
    return {p.name: p.value for p in found}


class TimingProfiler:
    def __init__(self) -> None:
        self.started = 0.0

    def available(self) -> str | None:
        return None

    def start(self) -> None:
        self.started = time.perf_counter()

    def stop(self, work: Work) -> Mapping[str, Value]:
        if work.backend is not None:
            work.backend.synchronize()
        wall = time.perf_counter() - self.started
        out: dict[str, Value] = {
            PerfName.WALL_TIME: Value(value=wall, unit="s", higher_is_better=False),
            PerfName.REQUESTS_PER_S: _rate(
                work.n_requests, wall, "req/s", "requests per wall second"
            ),
        }
        if work.n_samples:
            out[PerfName.SAMPLES_PER_S] = _rate(
                work.n_samples, wall, "samples/s", "task samples per second (any tokenizer)"
            )
        if work.input_tokens:
            out[PerfName.INPUT_TOKENS_PER_S] = _rate(
                work.input_tokens, wall, "tok/s", "input (prompt or scored) tokens per second"
            )
        if work.output_tokens:
            out[PerfName.OUTPUT_TOKENS_PER_S] = _rate(
                work.output_tokens, wall, "tok/s", "generated tokens per second"
            )
            out[PerfName.TOTAL_TOKENS_PER_S] = _rate(
                work.input_tokens + work.output_tokens, wall, "tok/s", "input + output tokens"
            )
        scope = latency_scope(work.backend)
        out.update(percentiles(Percentiled.LATENCY, work.latencies_s, scope=scope))
        out.update(percentiles(Percentiled.TTFT, work.ttfts_s, scope=scope))
        out.update(time_per_output_token(work))
        return out


def time_per_output_token(work: Work) -> dict[str, Value]:
    """(batch latency - TTFT) / (decode steps after the first), median over requests."""
    rows = zip(work.latencies_s, work.ttfts_s, work.decode_steps, strict=False)
    decode = [(lat - ttft) / (steps - 1) for lat, ttft, steps in rows if steps > 1]
    if not decode:
        return {}
    return {
        PerfName.TIME_PER_OUTPUT_TOKEN: Value(
            value=float(np.median(decode)),
            unit="s/tok",
            higher_is_better=False,
            n=len(decode),
            note="median over requests of (batch latency - TTFT) / (batch decode steps - 1)",
        )
    }


@PROFILERS.register("timing")
def make_timing(backend: Backend | None = None) -> Profiler:
    return TimingProfiler()
