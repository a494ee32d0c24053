"""Reading records written by schema_version 1, which stored no metric specs.

The only place a metric is found by its name: a v1 record's metrics are looked up in the
built-in adapters' metrics (the first adapter to define a name wins, as the v1 gate did) and
its primaries in `conventions["primary_metrics"]`, else the adapter's default. Records of
schema_version 2 and later carry their own specs and never come here.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from harness.core.values import Value
from harness.metrics.base import Metric
from harness.metrics.primary import default_primary
from harness.metrics.spec import MetricSpec, metric_specs

V1_PRIMARY_KEY = "primary_metrics"


@cache
def _v1_catalog() -> dict[str, Metric]:
    """Every metric the built-in adapters define, by name (first definition wins)."""
    from harness.adapters import ADAPTERS
    from harness.adapters.generation import QA_NUMERIC_METRICS, QA_SPAN_METRICS

    found: dict[str, Metric] = {m.name: m for m in (*QA_NUMERIC_METRICS, *QA_SPAN_METRICS)}
    for _, adapter in ADAPTERS:
        for metric in getattr(adapter, "metrics", ()):
            if isinstance(metric, Metric):
                found.setdefault(metric.name, metric)
    return found


def v1_primary_metrics(
    conventions: Mapping[str, str], adapter: str, quality: Mapping[str, Value]
) -> tuple[str, ...]:
    """The primaries a v1 record declares in its conventions, in order, else the adapter's
    default (runs made before primaries were recorded)."""
    stored = conventions.get(V1_PRIMARY_KEY)
    if stored:
        return tuple(m for m in stored.split(",") if m)
    return default_primary(adapter, quality)


def v1_metric_specs(
    conventions: Mapping[str, str], adapter: str, quality: Mapping[str, Value]
) -> dict[str, MetricSpec]:
    """Specs for a v1 record's quality metrics that the catalog knows (others: none)."""
    catalog = _v1_catalog()
    known = [catalog[name] for name in quality if name in catalog]
    return metric_specs(known, v1_primary_metrics(conventions, adapter, quality))
