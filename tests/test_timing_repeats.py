"""The extra timed windows run a bounded subset chosen by size; the full pass gives the values.

Mechanics on the mock engine (its time is a sleep per request, so a window's cost is exact);
the whole-command cost on real SmolLM2 is in tests/benchmarks/test_startup.py.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from harness.backends.mock import MockBackend
from harness.core.requests import Request, RollingLogLikelihood
from harness.core.values import Value
from harness.run.measure import measure
from harness.run.repeats import MIN_SUBSET, repeat_subset, rescaled_to_full
from harness.suite.schema import TimingConfig


def _docs(n: int) -> list[list[Request]]:
    return [[RollingLogLikelihood("word " * (1 + i % 50))] for i in range(n)]


def test_subset_is_bounded_and_spans_the_sizes() -> None:
    per_sample = _docs(300)
    subset = repeat_subset(per_sample, TimingConfig(min_repeats=3))
    assert subset is not None and len(subset) == 20  # 0.2 * 300 / 3 windows
    sizes = sorted(1 + i % 50 for i in subset)
    assert sizes[0] <= 3 and sizes[-1] >= 48, "short and long samples are both repeated"
    assert repeat_subset(per_sample, TimingConfig(min_repeats=3)) == subset  # deterministic


@pytest.mark.parametrize(
    ("n", "timing"),
    [
        (MIN_SUBSET, TimingConfig(min_repeats=3)),  # no smaller window than the task itself
        (300, TimingConfig(min_repeats=1)),  # no repeats asked
        (300, TimingConfig(min_repeats=3, repeat_fraction=1)),  # the v0.2 behaviour
    ],
)
def test_small_tasks_and_fraction_one_repeat_everything(n: int, timing: TimingConfig) -> None:
    assert repeat_subset(_docs(n), timing) is None


@pytest.mark.e2e
def test_measure_costs_a_fifth_more_than_one_pass_and_keeps_the_full_values() -> None:
    backend: Any = MockBackend("m", delay_s=0.004)
    per_sample = _docs(300)
    start = time.perf_counter()
    measured = measure(backend, per_sample, ["timing"], None, TimingConfig(min_repeats=3))
    took = time.perf_counter() - start
    wall = measured.perf["wall_time"]
    one_pass = 300 * 0.004
    # warmup (one sample) + the full pass + 3 windows of 20 samples = 1.2 passes of sleep
    assert one_pass * 1.2 <= took < one_pass * 1.2 + 0.6
    assert one_pass <= wall.value < one_pass + 0.3, "the value is the full pass's"
    assert wall.repeats is not None and len(wall.repeats) == 3
    assert wall.ci_low is not None and wall.ci_high is not None
    assert wall.ci_low <= wall.value <= wall.ci_high
    assert len(measured.responses) == 300, "every sample is scored"
    assert "3 repeat windows over 20 of 300 samples" in measured.repeats
    assert "the full pass; interval = min..max of 3 repeat windows" in (wall.note or "")


def test_rescaling_carries_the_relative_spread() -> None:
    full = {"tok_s": Value(value=1000.0, unit="tok/s"), "once": Value(value=5.0, unit="s")}
    runs = [{"tok_s": Value(value=v, unit="tok/s")} for v in (90.0, 100.0, 110.0)]
    merged = rescaled_to_full(full, runs, "3 windows")
    assert merged["tok_s"].value == 1000.0
    assert merged["tok_s"].repeats == pytest.approx([900.0, 1000.0, 1100.0])
    assert (merged["tok_s"].ci_low, merged["tok_s"].ci_high) == pytest.approx((900.0, 1100.0))
    assert merged["once"].repeats == [5.0] and merged["once"].ci_low is None


def test_repeats_keep_a_percentiles_own_interval_and_spread_the_rest() -> None:
    """A latency percentile's order-statistic interval over the window's requests is kept
    (the windows' min..max of three medians holds the median with only 75% probability);
    a speed, which has no interval of its own, takes the windows' spread."""
    from harness.run.measure import merge_repeats

    def window(p50: float, speed: float) -> dict[str, Value]:
        own = Value(value=p50, unit="s", ci_low=p50 - 0.1, ci_high=p50 + 0.2)
        return {"ttft_p50": own, "input_tokens_per_s": Value(value=speed, unit="tok/s")}

    merged = merge_repeats([window(1.0, 100.0), window(1.5, 90.0), window(0.8, 110.0)])
    ttft = merged["ttft_p50"]
    assert (ttft.value, ttft.ci_low, ttft.ci_high) == (1.0, 0.9, 1.2)
    assert ttft.repeats == [1.0, 1.5, 0.8]
    speed = merged["input_tokens_per_s"]
    assert (speed.value, speed.ci_low, speed.ci_high) == (100.0, 90.0, 110.0)
