"""Per-request serving statistics: percentiles of TTFT, time per output token, inter-token
latency and end-to-end latency, tokens per request, achieved rates, errors and retries.

Only streamed responses (those carrying inter-token gaps, i.e. from the `openai` backend)
count; for other backends the profiler says why it cannot measure.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from harness.backends.base import Backend, ServedWindow
from harness.core.perf_names import Percentiled, PerfName
from harness.core.requests import GenerateResponse, Response
from harness.core.values import Value
from harness.profilers.base import PROFILERS, Profiler, Work
from harness.profilers.percentile_ci import (
    Percentile,
    clustered_percentile_values,
    percentile_values,
)
from harness.profilers.steady import steady_values

PER_REQUEST = "per request: each request's own time"


def tpot_s(response: GenerateResponse) -> float | None:
    """Time per output token after the first: (e2e - TTFT) / (output tokens - 1)."""
    if response.ttft_s is None or response.latency_s is None or (response.n_out or 0) < 2:
        return None
    return (response.latency_s - response.ttft_s) / ((response.n_out or 0) - 1)


def served(responses: Sequence[Response]) -> list[GenerateResponse]:
    return [r for r in responses if isinstance(r, GenerateResponse) and r.itl_s is not None]


def latency_percentiles(ok: Sequence[GenerateResponse]) -> list[Percentile]:
    """p50/p90/p99 of TTFT, TPOT, inter-token gaps and e2e latency with 95% intervals:
    order statistics over requests; for the gaps, a bootstrap over requests."""
    ttft = [r.ttft_s for r in ok if r.ttft_s is not None]
    tpot = [t for r in ok if (t := tpot_s(r)) is not None]
    e2e = [r.latency_s for r in ok if r.latency_s is not None]
    gaps = "inter-token gaps (stream chunks) of every request"
    return [
        *percentile_values(Percentiled.TTFT, ttft, "s", PER_REQUEST),
        *percentile_values(Percentiled.TPOT, tpot, "s/tok", PER_REQUEST),
        *clustered_percentile_values(Percentiled.ITL, [r.itl_s or () for r in ok], "s", gaps),
        *percentile_values(Percentiled.E2E, e2e, "s", PER_REQUEST),
    ]


def _workload(family: Percentiled, samples: list[float]) -> dict[str, Value]:
    """What the requests asked for: the task's, so no interval is made."""
    found = percentile_values(family, samples, "tok", "per request", "the task's, not measured")
    return {p.name: p.value for p in found}


def request_stats(
    responses: Sequence[GenerateResponse],
    wall_s: float,
    no_interval: dict[str, str] | None = None,
) -> dict[str, Value]:
    """Per-request statistics; why a latency percentile has no interval goes to
    `no_interval`, by `<name>_interval`."""
    ok = [r for r in responses if r.error is None]
    out: dict[str, Value] = {}
    for found in latency_percentiles(ok):
        out[found.name] = found.value
        if found.no_interval is not None and no_interval is not None:
            no_interval[f"{found.name}_interval"] = found.no_interval
    out.update(_workload(Percentiled.OUTPUT_TOKENS, [float(r.n_out or 0) for r in ok]))
    out.update(_workload(Percentiled.INPUT_TOKENS, [float(r.n_in) for r in ok if r.n_in]))
    n_out = sum(r.n_out or 0 for r in ok)
    out[PerfName.ACHIEVED_REQUESTS_PER_S] = Value(
        value=len(ok) / wall_s,
        unit="req/s",
        higher_is_better=True,
        n=len(ok),
        note="requests completed without error per second of the measured window",
    )
    out[PerfName.ACHIEVED_OUTPUT_TOKENS_PER_S] = Value(
        value=n_out / wall_s,
        unit="tok/s",
        higher_is_better=True,
        n=n_out,
        note="output tokens (server usage, else streamed chunks) per second of the window",
    )
    out[PerfName.REQUEST_ERRORS] = Value(
        value=float(len(responses) - len(ok)),
        unit="requests",
        higher_is_better=False,
        n=len(responses),
        note="requests still failing (429/5xx) after their retries",
    )
    out[PerfName.REQUEST_RETRIES] = Value(
        value=float(sum(r.retries or 0 for r in responses)),
        unit="retries",
        higher_is_better=False,
        n=len(responses),
        note="extra attempts after 429/5xx/lost link",
    )
    return out


class ServingProfiler:
    """Per-request statistics of one window, with the steady-state part, the server's own
    counters over the window (its prefix cache emptied first, where it can be) and the
    server's token counts beside the client tokenizer's."""

    def __init__(self, window: ServedWindow) -> None:
        self.window = window
        self.started = 0.0
        self.not_done: dict[str, str] = {}

    def available(self) -> str | None:
        return None

    def start(self) -> None:
        self.not_done = self.window.open()
        self.started = time.perf_counter()

    def stop(self, work: Work) -> Mapping[str, Value]:
        wall = time.perf_counter() - self.started
        streamed = served(work.responses)
        counters, why_not = self.window.close()
        work.unavailable.update({**self.not_done, **why_not})
        if not streamed:
            return counters
        out = {**request_stats(streamed, wall, work.unavailable), **counters}
        steady, no_steady = steady_values(streamed)
        counted, no_count = self.window.token_counts(streamed)
        out.update({**steady, **counted})
        for key, reason in (("steady_state", no_steady), ("token_counts", no_count)):
            if reason is not None:
                work.unavailable[key] = reason
        return out


class _NotServed:
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def available(self) -> str | None:
        return self.reason

    def start(self) -> None: ...

    def stop(self, work: Work) -> Mapping[str, Value]:
        return {}


@PROFILERS.register("serving")
def make_serving(backend: Backend | None = None) -> Profiler:
    window = backend.served_window() if backend is not None else None
    if window is None:
        return _NotServed(
            "per-request streaming timings come only from an engine that streams to a server "
            "(the openai backend)"
        )
    return ServingProfiler(window)
