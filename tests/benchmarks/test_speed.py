"""Speed targets, as ratios measured within one run on the packaged SmolLM2 and real data.

* Context sharing + batching vs a naive one-request-at-a-time loop (multiple choice on GPQA,
  where four answers share one long question).
* Profiler overhead: throughput with every profiler on vs the bare dispatch.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.core.requests import LogLikelihood, Request
from harness.run.dispatch import dispatch
from harness.run.measure import measure
from harness.run.plan import prepare_task
from harness.suite.schema import load_suite
from tests.benchmarks.conftest import load_smollm2

pytestmark = [pytest.mark.slow, pytest.mark.network]
DEFAULT = Path(__file__).resolve().parents[2] / "suites" / "default.yaml"


def _requests(task: str, n: int) -> list[list[Request]]:
    prepared = prepare_task(task, load_suite(DEFAULT), DEFAULT, n)
    return [list(prepared.adapter.requests(s)) for s in prepared.samples]


def _seconds(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_context_sharing_beats_naive_loop(benchmark: Any) -> None:
    per_sample = _requests("gpqa_diamond", 6)
    flat = [r for reqs in per_sample for r in reqs if isinstance(r, LogLikelihood)]
    fast = load_smollm2(batch_size=8, share_context=True)
    naive = load_smollm2(batch_size=1, share_context=False)
    fast.loglikelihood(flat[:2])  # warm both
    naive.loglikelihood(flat[:2])

    def naive_loop() -> None:
        for request in flat:
            naive.loglikelihood([request])

    naive_s = _seconds(naive_loop, 1)
    fast_s = _seconds(lambda: fast.loglikelihood(flat), 1)
    benchmark.extra_info.update(naive_s=naive_s, shared_s=fast_s, speedup=naive_s / fast_s)
    benchmark.pedantic(fast.loglikelihood, args=(flat,), rounds=1, iterations=1)
    print(
        f"\ncontext sharing: naive {naive_s:.2f} s, shared+batched {fast_s:.2f} s, "
        f"speedup {naive_s / fast_s:.2f}x over {len(flat)} requests"
    )
    assert naive_s / fast_s > 1.5


def test_profiler_overhead_under_three_percent(benchmark: Any) -> None:
    backend = load_smollm2(batch_size=8)
    # Enough work that a window lasts seconds: the profilers' fixed start/stop cost is not
    # what users feel on a real task, their cost per second of dispatch is.
    per_sample = _requests("lee_news_ppl", 20)
    dispatch(backend, per_sample)  # warm
    bare, profiled = [], []
    everything = ["timing", "memory", "energy", "roofline"]
    measure(backend, per_sample, everything, None)  # one-time set-up: peaks, idle power
    for _ in range(5):  # alternate so drift hits both sides alike
        bare.append(_seconds(lambda: dispatch(backend, per_sample), 1))
        # The timing window opens first and closes last, so it holds every other
        # profiler's start/stop cost and its sampling thread: the throughput users see.
        window = measure(backend, per_sample, everything, None).perf["wall_time"]
        profiled.append(window.value)
    # Best of each: overhead is a floor cost, while noise on a shared machine only adds.
    ratio = min(bare) / min(profiled)
    benchmark.extra_info.update(bare_s=min(bare), profiled_s=min(profiled), throughput_ratio=ratio)
    benchmark.pedantic(dispatch, args=(backend, per_sample), rounds=1, iterations=1)
    print(
        f"\nprofiler overhead: bare {min(bare):.3f} s, profiled {min(profiled):.3f} s, "
        f"throughput ratio {ratio:.3f}"
    )
    assert ratio >= 0.97
