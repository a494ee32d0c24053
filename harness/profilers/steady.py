"""The steady-state part of a served window: warm-up and cool-down excluded.

At the start of a load test the server fills up (every slot prefills at once); at the end
it drains (the last requests run with fewer beside them). Both flatter or punish the
throughput a deployment would see at that load. The steady window runs from the first
request's completion (every slot has been filled and one has turned over) to the last
request's send (after it, nothing replaces a finished request). Output tokens are counted
as they arrive inside it: each streamed chunk carries its request's tokens in equal shares.
A window with no steady part (too few requests for the load) records why instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.core.perf_names import PerfName
from harness.core.requests import GenerateResponse
from harness.core.values import Value


def _chunk_times(r: GenerateResponse) -> list[float]:
    if r.sent_at_s is None or r.ttft_s is None:
        return []
    times = [r.sent_at_s + r.ttft_s]
    for gap in r.itl_s or ():
        times.append(times[-1] + gap)
    return times


def steady_values(responses: Sequence[GenerateResponse]) -> tuple[dict[str, Value], str | None]:
    """Steady-state output throughput and request rate, or the reason there is none."""
    ok = [r for r in responses if r.error is None and r.sent_at_s is not None]
    if len(ok) < 2:
        return {}, "fewer than two timed requests: no steady-state window"
    begin = min((r.sent_at_s or 0.0) + (r.latency_s or 0.0) for r in ok)
    end = max(r.sent_at_s or 0.0 for r in responses if r.sent_at_s is not None)
    if end <= begin:
        return {}, (
            f"{len(responses)} requests at this load leave no steady-state window (the last "
            "was sent before the first finished); raise the task's n"
        )
    tokens, finished = 0.0, 0
    for r in ok:
        times = _chunk_times(r)
        share = (r.n_out or 0) / len(times) if times else 0.0
        tokens += share * sum(begin <= t <= end for t in times)
        finished += begin < (r.sent_at_s or 0.0) + (r.latency_s or 0.0) <= end
    span = end - begin
    note = (
        f"from the first completion to the last send ({span:.2f} s of the window): warm-up "
        "and cool-down excluded"
    )
    return {
        PerfName.STEADY_OUTPUT_TOKENS_PER_S: Value(
            value=tokens / span, unit="tok/s", higher_is_better=True, n=int(tokens), note=note
        ),
        PerfName.STEADY_REQUESTS_PER_S: Value(
            value=finished / span, unit="req/s", higher_is_better=True, n=finished, note=note
        ),
        PerfName.STEADY_WINDOW: Value(value=span, unit="s", higher_is_better=True, note=note),
    }, None
