"""Every metric the built-in adapters define, by name, for tools that recompute metrics
from stored per-sample scores (the CI gate)."""

from __future__ import annotations

from functools import cache

from harness.metrics.base import Metric


@cache
def all_metrics() -> dict[str, Metric]:
    from harness.adapters import ADAPTERS
    from harness.adapters.generation import QA_NUMERIC_METRICS, QA_SPAN_METRICS

    found: dict[str, Metric] = {m.name: m for m in (*QA_NUMERIC_METRICS, *QA_SPAN_METRICS)}
    for _, adapter in ADAPTERS:
        for metric in getattr(adapter, "metrics", ()):
            if isinstance(metric, Metric):
                found.setdefault(metric.name, metric)
    return found
