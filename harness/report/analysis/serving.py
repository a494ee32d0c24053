"""Served records: which records a load sweep wrote, at which offered load each ran, and the
levels of each model and task in load order."""

from __future__ import annotations

from collections.abc import Sequence

from harness.core.perf_names import PerfName
from harness.store.records import Record
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
