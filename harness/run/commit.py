"""The driver's commit of a finished unit: the one place a unit's samples and record reach
the store, whichever executor ran it (local, Ray, resumed). A KL reference's distributions are
kept and a KL candidate scored against its reference first, so the record written is final."""

from __future__ import annotations

from harness.run.divergence import with_divergence
from harness.run.plan import Plan
from harness.run.unit import UnitResult
from harness.store.records import RunStore
from harness.store.top_tokens import save_top_tokens


def commit_unit(p: Plan, store: RunStore, result: UnitResult) -> None:
    """Store a reference's distributions, score a candidate against its reference's, then
    append the unit (samples, then record: the commit point)."""
    record, rows = result.record, result.samples
    unit = record.unit_key
    kept = result.kept
    if kept is not None and kept.tops is not None and unit in p.divergence.references:
        save_top_tokens(store.root, unit, [r.sample_id for r in rows], kept.tops)
    reference = p.divergence.reference_of.get(unit)
    if reference is not None:
        record, rows = with_divergence(record, rows, kept, store, reference, p)
    store.append_unit(record, rows)
