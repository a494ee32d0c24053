"""Intervals of served figures: order-statistic intervals of percentiles against textbook
ranks and a coverage simulation, the request-level bootstrap of inter-token gaps, the Wilson
interval of SLO attainment against a published value, and what a level too small for an
interval records instead."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.perf_names import Percentiled
from harness.core.requests import GenerateResponse
from harness.metrics.base import wilson_interval
from harness.profilers.percentile_ci import (
    clustered_percentile_values,
    draws_needed,
    order_statistic_ranks,
    percentile_values,
)
from harness.profilers.serving import request_stats
from harness.profilers.slo import slo_values
from harness.suite.schema import SLOConfig


def test_median_ranks_match_the_textbook_tables() -> None:
    # Conover, Practical Nonparametric Statistics (3rd ed.), the median's 95% interval:
    # n = 20 -> x(6)..x(15) (coverage 0.9586); n = 100 -> x(40)..x(61) (coverage 0.9648).
    twenty = order_statistic_ranks(20, 0.5)
    hundred = order_statistic_ranks(100, 0.5)
    assert twenty is not None and (twenty.low, twenty.high) == (6, 15)
    assert twenty.coverage == pytest.approx(0.9586, abs=1e-4)
    assert hundred is not None and (hundred.low, hundred.high) == (40, 61)
    assert hundred.coverage == pytest.approx(0.9648, abs=1e-4)


def test_fewest_draws_for_an_interval() -> None:
    # p50: 1 - 2 * 0.5^n >= 0.95 from n = 6; p99: 1 - 0.99^n >= 0.95 from n = 299
    assert draws_needed(0.5) == 6
    assert draws_needed(0.99) == 299
    assert order_statistic_ranks(298, 0.99) is None
    at_299 = order_statistic_ranks(299, 0.99)
    assert at_299 is not None and at_299.high == 299 and at_299.coverage >= 0.95
    equal_tails = order_statistic_ranks(1000, 0.99)
    assert equal_tails is not None and equal_tails.high < 1000


@pytest.mark.parametrize(("n", "q"), [(40, 0.9), (120, 0.5), (300, 0.99)])
def test_intervals_cover_the_true_percentile_at_least_95_percent(n: int, q: float) -> None:
    rng = np.random.default_rng(7)
    truth = -np.log(1 - q)  # the q-quantile of the unit exponential
    ranks = order_statistic_ranks(n, q)
    assert ranks is not None
    draws = np.sort(rng.exponential(size=(4000, n)), axis=1)
    covered = (draws[:, ranks.low - 1] <= truth) & (truth < draws[:, ranks.high - 1])
    assert covered.mean() >= 0.95 - 0.01  # Monte Carlo error of 4000 runs: about 0.004
    assert covered.mean() == pytest.approx(ranks.coverage, abs=0.015)


def test_percentile_values_carry_interval_or_say_why_not() -> None:
    samples = [float(v) for v in range(1, 101)]  # x(k) = k
    found = {p.name: p for p in percentile_values(Percentiled.TTFT, samples, "s", "per request")}
    p50 = found["ttft_p50"].value
    assert (p50.value, p50.ci_low, p50.ci_high, p50.n) == (50.5, 40.0, 61.0, 100)
    p99 = found["ttft_p99"]
    assert p99.value.ci_low is None and p99.value.ci_high is None
    assert p99.no_interval == (
        "a distribution-free 95% interval of p99 needs at least 299 requests; this window had 100"
    )
    few = percentile_values(Percentiled.E2E, samples[:24], "s", "per request")
    assert "p99 from 24 requests: below the 100 a p99 needs" in (few[2].value.note or "")
    assert "below the" not in (few[0].value.note or "")


def test_gap_percentiles_resample_whole_requests() -> None:
    rng = np.random.default_rng(3)
    groups = [list(rng.exponential(0.02, size=30) + 0.01 * i) for i in range(20)]
    found = clustered_percentile_values(Percentiled.ITL, groups, "s", "gaps")
    pooled = np.concatenate(groups)
    for item, q in zip(found, (0.5, 0.9, 0.99), strict=True):
        value = item.value
        assert value.value == pytest.approx(float(np.percentile(pooled, 100 * q)))
        assert value.ci_low is not None and value.ci_high is not None
        assert value.ci_low <= value.value <= value.ci_high
        assert value.n == 600
    alone = clustered_percentile_values(Percentiled.ITL, groups[:1], "s", "gaps")
    assert alone[0].value.ci_low is None and alone[0].no_interval is not None


def test_wilson_interval_matches_newcombe() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, Table I: 81/263 -> 0.2553 to 0.3662,
    # 15/148 -> 0.0624 to 0.1605 (Wilson score interval without continuity correction).
    low, high = wilson_interval(81 / 263, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    low, high = wilson_interval(15 / 148, 148)
    assert (round(low, 4), round(high, 4)) == (0.0624, 0.1605)


def _streamed(ttft: float, latency: float, n_out: int = 5) -> GenerateResponse:
    gaps = tuple([(latency - ttft) / (n_out - 1)] * (n_out - 1))
    return GenerateResponse(
        text="x", n_in=3, n_out=n_out, ttft_s=ttft, latency_s=latency, itl_s=gaps, sent_at_s=0.0
    )


def test_attainment_counts_every_request_of_the_window() -> None:
    slo = SLOConfig(ttft_ms=100)
    scored = [[_streamed(0.05, 0.2)], [_streamed(0.2, 0.4)]]  # one of two meets it
    window = [scored[0][0], scored[1][0]] + [_streamed(0.05, 0.2)] * 8  # cycled repeats
    got = slo_values(slo, scored, [{"em": 1.0}, {"em": 1.0}], [], 2.0, 1, window)
    attained = got.perf["slo_attainment"]
    assert (attained.value, attained.n) == (0.9, 10)
    assert (attained.ci_low, attained.ci_high) == pytest.approx(wilson_interval(0.9, 10))
    assert "cycling 2 distinct prompts" in (attained.note or "")
    assert got.perf["goodput"].value == 9 / 2.0


def test_request_stats_give_latency_intervals_and_reasons() -> None:
    rows = [_streamed(0.01 * (i + 1), 0.5 + 0.01 * i) for i in range(40)]
    why: dict[str, str] = {}
    stats = request_stats(rows, 4.0, why)
    for family in ("ttft", "tpot", "itl", "e2e"):
        assert stats[f"{family}_p50"].ci_low is not None
    assert stats["ttft_p90"].ci_low is not None  # 40 >= 29 requests
    assert stats["ttft_p99"].ci_low is None
    assert why["ttft_p99_interval"].endswith("needs at least 299 requests; this window had 40")
    assert "itl_p99_interval" not in why  # the gaps' bootstrap works from 2 requests
    assert stats["output_tokens_p50"].ci_low is None  # the task's lengths: no interval
