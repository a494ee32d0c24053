"""Served records: which records a load sweep wrote, at which offered load each ran, the
levels of each model and task in load order, how many requests each level's percentiles rest
on, and the SLO each run judged them by."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from harness.core.perf_names import Percentiled, PerfName, percentile_name
from harness.profilers.percentile_ci import enough_for
from harness.store.records import Record
from harness.store.runfiles import Manifest
from harness.suite.schema import SLOConfig
from harness.variants.base import OFFERED_LOAD, knobs_along

LOAD_KNOBS = knobs_along(OFFERED_LOAD)


def is_served(record: Record) -> bool:
    return PerfName.ACHIEVED_REQUESTS_PER_S in record.perf


def load_of(record: Record) -> tuple[str, float]:
    """(knob, level): request_rate when given (open loop), else concurrency (default 1)."""
    for knob in reversed(LOAD_KNOBS):
        if knob in record.knobs:
            return knob, float(record.knobs[knob])
    return "concurrency", 1.0


def served_groups(records: Sequence[Record]) -> dict[tuple[str, str], list[Record]]:
    """Each served model and task's records, lightest load first."""
    groups: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        if is_served(record):
            groups.setdefault((record.model, record.task), []).append(record)
    return {k: sorted(v, key=lambda r: load_of(r)[1]) for k, v in groups.items()}


P99_NEEDS = enough_for(0.99)  # requests with which about one lies beyond the p99


def requests_of(record: Record) -> int | None:
    """Requests behind the level's latency percentiles (its e2e latencies, else its TTFTs)."""
    for family in (Percentiled.E2E, Percentiled.TTFT):
        value = record.perf.get(percentile_name(family, "p99"))
        if value is not None and value.n is not None:
            return value.n
    return None


def thin_p99(levels: Sequence[Record]) -> list[tuple[Record, int]]:
    """The levels whose p99 rests on fewer requests than a p99 needs, with their count."""
    return [(r, n) for r in levels if (n := requests_of(r)) is not None and n < P99_NEEDS]


def slo_by_run(manifests: Sequence[Manifest]) -> dict[str, SLOConfig]:
    """Each run's SLO (its suite's `slo:`), by run id; runs without one are left out."""
    found = {}
    for manifest in manifests:
        given = manifest.suite_config.get("slo")
        if isinstance(given, dict):
            try:
                found[manifest.run_id] = SLOConfig.model_validate(given)
            except ValidationError:  # a foreign or hand-edited manifest: no SLO line, no crash
                continue
    return found
