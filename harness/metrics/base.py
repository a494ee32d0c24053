"""A Metric carries its own name, unit, direction and reducer.

Means of per-sample scores get a closed-form stderr and a t interval. Corpus-level metrics
(perplexity, BLEU, macro-F1, ...) are not means of per-sample values, so their stderr and
95% CI come from a seeded bootstrap over samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from harness.core.values import Value
from harness.metrics.reducers import MeanOf, Reducer
from harness.metrics.scores import Scores

__all__ = ["Metric", "Scores", "bootstrap", "corpus_metric", "mean_metric", "summarize"]

N_BOOTSTRAP = 1000


class Metric(BaseModel):
    """What a task metric means and how it is computed from per-sample scores."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="the metric's key in a record's `quality`")
    unit: str = Field(description="unit of the value and its interval")
    higher_is_better: bool = Field(description="direction of improvement")
    reducer: Reducer = Field(description="how the value is computed from per-sample scores")

    def reduce(self, scores: Scores) -> float:
        return self.reducer.reduce(scores)

    @property
    def mean_of(self) -> str | None:
        """The per-sample field this metric is the plain mean of (closed-form interval,
        McNemar in the gate), else None."""
        return self.reducer.field if isinstance(self.reducer, MeanOf) else None


def mean_metric(name: str, unit: str, higher_is_better: bool, field: str | None = None) -> Metric:
    return Metric(
        name=name, unit=unit, higher_is_better=higher_is_better, reducer=MeanOf(field=field or name)
    )


def corpus_metric(name: str, unit: str, higher_is_better: bool, reducer: Reducer) -> Metric:
    """A metric that is not a mean of per-sample values: its interval is bootstrapped."""
    return Metric(name=name, unit=unit, higher_is_better=higher_is_better, reducer=reducer)


def _value(metric: Metric, value: float, n: int, **uncertainty: float | str | None) -> Value:
    return Value(
        value=value, unit=metric.unit, higher_is_better=metric.higher_is_better, n=n, **uncertainty
    )


def summarize(metric: Metric, scores: Scores, seed: int) -> Value:
    n = len(scores)
    value = metric.reduce(scores)
    if metric.mean_of is not None:
        return _mean_value(metric, [s[metric.mean_of] for s in scores], value)
    low, high, stderr = bootstrap(metric.reduce, scores, seed)
    note = "95% percentile bootstrap over samples" if n > 1 else "single sample: no CI"
    return _value(metric, value, n, stderr=stderr, ci_low=low, ci_high=high, note=note)


def _mean_value(metric: Metric, values: list[float], mean: float) -> Value:
    n = len(values)
    if n < 2:
        return _value(metric, mean, n)
    from scipy import stats

    stderr = float(np.std(values, ddof=1) / math.sqrt(n))
    if set(values) <= {0.0, 1.0}:
        low, high = wilson_interval(mean, n)
        note = "95% Wilson score interval (binary per-sample scores)"
    else:
        half = float(stats.t.ppf(0.975, n - 1)) * stderr
        low, high, note = mean - half, mean + half, "95% t interval on the mean"
    return _value(metric, mean, n, stderr=stderr, ci_low=low, ci_high=high, note=note)


def wilson_interval(p: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a proportion: stays inside [0, 1] and is sensible at 0 or 1
    correct, where the normal interval collapses to a point."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap(
    reduce: Callable[[Scores], float], scores: Scores, seed: int, n_boot: int = N_BOOTSTRAP
) -> tuple[float | None, float | None, float | None]:
    """Percentile 95% CI and standard error of `reduce` under resampling of samples."""
    n = len(scores)
    if n < 2:
        return None, None, None
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(n_boot, n))
    stats = np.array([reduce([scores[i] for i in row]) for row in draws], dtype=float)
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return None, None, None
    low, high = np.percentile(stats, [2.5, 97.5])
    return float(low), float(high), float(np.std(stats, ddof=1))
