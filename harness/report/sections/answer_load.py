"""The first screen's line for a served model's load levels: the capacity under the SLO
and how throughput grows with load, instead of a ship/no-ship verdict per level."""

from __future__ import annotations

from collections.abc import Sequence

from harness.report.analysis.load_levels import LoadLevel, highest_meeting, load_levels
from harness.report.analysis.scaling import task_speed_metric
from harness.report.analysis.speed import SPEED_LABELS
from harness.report.analysis.versus import VersusBase
from harness.report.sections.format import fmt_number, fmt_value


def _attained(level: LoadLevel) -> str:
    return f"attainment {fmt_value(level.attainment)}" if level.attainment else "no attainment"


def slo_clause(levels: Sequence[LoadLevel]) -> str:
    if all(lv.met is None for lv in levels):
        return "no SLO set (add `slo:` to the suite to find the capacity)"
    top = highest_meeting(levels)
    failing = next((lv for lv in levels if not lv.met), None)
    if top is None:
        return f"misses the SLO already at {levels[0].label} ({_attained(levels[0])})"
    text = f"meets the SLO up to {top.label} ({_attained(top)})"
    if failing is not None:
        text += f", misses it at {failing.label} ({_attained(failing)})"
    else:
        text += f", the highest level run: capacity is at least {top.level:g}"
    return text


def throughput_clause(levels: Sequence[LoadLevel]) -> str:
    metric = task_speed_metric([lv.record for lv in levels])
    if metric is None:
        return "no speed every level reports"
    parts = [
        f"{fmt_number(lv.record.perf[metric].value)} at {lv.level:g}"
        for lv in levels
        if metric in lv.record.perf
    ]
    return f"{SPEED_LABELS[metric]} by {levels[0].knob}: " + ", ".join(parts)


def load_line(loads: Sequence[VersusBase]) -> str:
    """One line for a served model's load levels on one task."""
    base = loads[0].base
    levels = load_levels([base, *(v.record for v in loads)])
    return (
        f"- **{base.model}** · {base.task} (load levels of one deployment, not variants): "
        f"{slo_clause(levels)}; {throughput_clause(levels)}"
    )
