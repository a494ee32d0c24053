"""Load levels of one served model: what the server sustains, not variants to ship.

A record that differs from its base only in offered load (concurrency, request rate) is the
same deployment under more traffic. Comparing it with the base for a ship/no-ship verdict
would offer "concurrency 4" as something to deploy; the deployer's question for these is
capacity: up to which load the SLO holds, and where throughput stops growing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.core.perf_names import PerfName
from harness.core.values import Value
from harness.report.analysis.serving import LOAD_KNOBS, load_of
from harness.report.analysis.versus import VersusBase
from harness.store.records import Record


def is_load_level(v: VersusBase) -> bool:
    """Whether the record differs from its base in offered load alone."""
    mine, base = v.record.knobs, v.base.knobs
    changed = {k for k in set(mine) | set(base) if mine.get(k) != base.get(k)}
    return bool(changed) and changed <= set(LOAD_KNOBS)


@dataclass(frozen=True)
class LoadLevel:
    record: Record
    knob: str
    level: float
    attainment: Value | None  # share of requests meeting the SLO, with its Wilson interval
    met: bool | None  # None: no SLO was set

    @property
    def label(self) -> str:
        return f"{self.knob} = {self.level:g}"


def load_levels(records: Sequence[Record]) -> list[LoadLevel]:
    """The records of one model and task as load levels, lightest first."""
    out = []
    for r in records:
        knob, level = load_of(r)
        met = r.perf.get(PerfName.SLO_MET)
        out.append(
            LoadLevel(
                record=r,
                knob=knob,
                level=level,
                attainment=r.perf.get(PerfName.SLO_ATTAINMENT),
                met=None if met is None else met.value >= 1,
            )
        )
    return sorted(out, key=lambda lv: lv.level)


def highest_meeting(levels: Sequence[LoadLevel]) -> LoadLevel | None:
    """The highest level at which the SLO holds with every lighter level holding too (a
    pass above a failure is noise, not capacity). None when the lightest fails."""
    best = None
    for level in levels:
        if not level.met:
            break
        best = level
    return best
