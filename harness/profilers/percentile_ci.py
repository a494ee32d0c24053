"""Percentiles with distribution-free intervals: exact binomial (order-statistic) intervals.

Of n independent draws, the number B at or below the true q-quantile ξ is Binomial(n, q),
whatever the distribution, so the order statistics x(l) <= ξ < x(u) hold with probability
P(l <= B <= u - 1). The ranks are chosen with equal tails (each at most 2.5%). Where n is too
small for one of them (the upper rank of a p99 needs n >= 368), that end becomes the sample's
extreme and the whole 5% goes to the other tail; where even that cannot reach 95% there is no
interval and the reason says how many draws one needs (p99: 299), never a made-up one.

The point estimate stays numpy's linear interpolation, as before; the interval is about the
true quantile. A p99 from fewer than 100 requests is mostly the sample's maximum: its note
says so ("p99 from 24 requests: below the 100 a p99 needs").
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.core.perf_names import Percentiled, percentile_name
from harness.core.values import Value

CONFIDENCE = 0.95
N_BOOTSTRAP = 1000
QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))


@dataclass(frozen=True)
class Ranks:
    """1-based ranks of the order statistics bounding the interval, and its exact coverage."""

    low: int
    high: int
    coverage: float


def _cdf(n: int, q: float) -> np.ndarray:
    from scipy.stats import binom

    cdf: np.ndarray = binom.cdf(np.arange(n + 1), n, q)  # cdf[k] = P(B <= k)
    return cdf


def order_statistic_ranks(n: int, q: float, confidence: float = CONFIDENCE) -> Ranks | None:
    """The ranks (l, u) with P(x(l) <= ξ_q < x(u)) >= confidence, or None when n draws are
    too few for any pair."""
    if n < 1:
        return None
    cdf, tail = _cdf(n, q), (1 - confidence) / 2
    low = int(np.count_nonzero(cdf[:n] <= tail))  # largest l with P(B <= l - 1) <= tail
    above = np.flatnonzero(cdf[:n] >= 1 - tail)  # smallest u with P(B >= u) <= tail
    high = int(above[0]) + 1 if above.size else 0
    if low >= 1 and high >= 1:
        return Ranks(low, high, float(cdf[high - 1] - cdf[low - 1]))
    if low >= 1:  # no upper rank: take the maximum and give the lower tail the rest
        fits = np.flatnonzero(cdf[n - 1] - cdf[:n] >= confidence)  # cdf index = l - 1
        return Ranks(int(fits[-1]) + 1, n, float(cdf[n - 1] - cdf[fits[-1]])) if fits.size else None
    if high >= 1:  # no lower rank: take the minimum and give the upper tail the rest
        fits = np.flatnonzero(cdf[:n] - cdf[0] >= confidence)  # cdf index = u - 1
        return Ranks(1, int(fits[0]) + 1, float(cdf[fits[0]] - cdf[0])) if fits.size else None
    return None


@functools.cache
def draws_needed(q: float, confidence: float = CONFIDENCE) -> int:
    """The fewest draws with which a `confidence` order-statistic interval of the q-quantile
    exists (p50: 6, p90: 29, p99: 299)."""
    n = 1
    while order_statistic_ranks(n, q, confidence) is None:
        n += 1
    return n


def enough_for(q: float) -> int:
    """Requests with which about one observation lies beyond the q-quantile (p99: 100), below
    which the percentile is mostly the sample's extreme."""
    return round(1 / (1 - q)) if q > 0.5 else 2


@dataclass(frozen=True)
class Percentile:
    """One percentile of a sample: its value and, where n allows, its interval; else why not."""

    name: str
    value: Value
    no_interval: str | None  # why the value carries no interval


def _percentile(
    name: str, label: str, point: float, n: int, unit: str, notes: list[str], counted: str
) -> Value:
    q = dict(QUANTILES)[label]
    if n < enough_for(q):
        notes.append(f"{label} from {n} {counted}: below the {enough_for(q)} a {label} needs")
    return Value(value=point, unit=unit, higher_is_better=False, n=n, note="; ".join(notes))


def percentile_values(
    family: Percentiled,
    samples: Sequence[float],
    unit: str,
    note: str,
    not_independent: str | None = None,
    counted: str = "requests",
) -> list[Percentile]:
    """p50, p90 and p99 of `samples`, each with its 95% order-statistic interval, unless the
    samples are `not_independent` (the reason: then no interval)."""
    if not samples:
        return []
    ordered = np.sort(np.asarray(samples, dtype=float))
    n = len(ordered)
    out = []
    for label, q in QUANTILES:
        notes, why = [note], not_independent
        ranks = None if why else order_statistic_ranks(n, q)
        if ranks is not None:
            notes.append(
                f"95% distribution-free interval x({ranks.low})..x({ranks.high}) of {n} "
                f"(exact binomial coverage {ranks.coverage:.1%})"
            )
        elif why is None:
            why = (
                f"a distribution-free 95% interval of {label} needs at least "
                f"{draws_needed(q)} {counted}; this window had {n}"
            )
        if why is not None:
            notes.append(f"no interval: {why}")
        name = percentile_name(family, label)
        value = _percentile(
            name, label, float(np.percentile(ordered, 100 * q)), n, unit, notes, counted
        )
        if ranks is not None:
            value = value.model_copy(
                update={
                    "ci_low": float(ordered[ranks.low - 1]),
                    "ci_high": float(ordered[ranks.high - 1]),
                }
            )
        out.append(Percentile(name, value, why))
    return out


def clustered_percentile_values(
    family: Percentiled, groups: Sequence[Sequence[float]], unit: str, note: str, seed: int = 0
) -> list[Percentile]:
    """Percentiles of the pooled values of several groups (a request's inter-token gaps),
    with 95% bootstrap intervals that resample whole groups: gaps within one request share
    its load and its length, so they are not independent draws."""
    kept = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if not kept:
        return []
    values = np.concatenate(kept)
    owner = np.repeat(np.arange(len(kept)), [len(g) for g in kept])[np.argsort(values)]
    values = np.sort(values)
    qs = np.array([q for _, q in QUANTILES])
    draws = None
    if len(kept) >= 2:
        rng = np.random.default_rng(seed)
        draws = np.empty((N_BOOTSTRAP, len(qs)))
        for b in range(N_BOOTSTRAP):  # group weights, then the weighted (inverted-CDF) quantile
            weights = np.bincount(rng.integers(0, len(kept), len(kept)), minlength=len(kept))
            cumulative = weights[owner].cumsum()
            draws[b] = values[np.searchsorted(cumulative, qs * cumulative[-1])]
    out = []
    for i, (label, q) in enumerate(QUANTILES):
        name = percentile_name(family, label)
        notes = [note, f"pooled over {len(kept)} requests"]
        why = None if draws is not None else "a bootstrap over requests needs at least 2"
        notes.append(f"no interval: {why}" if why else "95% bootstrap interval resampling requests")
        value = _percentile(
            name, label, float(np.percentile(values, 100 * q)), len(values), unit, notes, "gaps"
        )
        if draws is not None:
            low, high = np.percentile(draws[:, i], [2.5, 97.5])
            value = value.model_copy(update={"ci_low": float(low), "ci_high": float(high)})
        out.append(Percentile(name, value, why))
    return out
