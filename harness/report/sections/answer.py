"""The report's first screen: per model and task, which variant to ship under which
constraint and what it costs (analysis.choices), read from the same variant-vs-base
comparisons as the table below it (paired-bootstrap quality change, bootstrap speed ratio,
both with 95% intervals).

It says "ship the base" only where every variant was shown slower; where speeds have no
interval, or tie with the base, it says it cannot rank and why. Load levels of a served
model get a capacity line (answer_load.py), not a ship verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.core.perf_names import PerfName
from harness.report.analysis.choices import (
    TOLERANCE,
    Option,
    SpeedStanding,
    constant_quality,
    frontier_names,
    options,
    picks,
    samples_to_detect,
    speed_standing,
)
from harness.report.analysis.load_levels import is_load_level
from harness.report.analysis.scaling import task_speed_metric
from harness.report.analysis.speed import MIN_TIMED_REPEATS, SPEED_LABELS
from harness.report.analysis.versus import QualityChange, VersusBase
from harness.report.sections.answer_load import load_line
from harness.report.sections.deployer import fmt_change, fmt_ratio, verdict_text
from harness.report.sections.format import fmt_number
from harness.store.records import Record

DETECT_POINTS = 0.10  # the change a constant 0/1 metric is asked to detect: ten points


def _weights_text(o: Option) -> str:
    weights = o.versus.ratios.get(PerfName.WEIGHT_BYTES)
    return f"; weights {fmt_ratio(weights)}" if weights is not None else ""


def speed_text(o: Option, label: str) -> str:
    return f"`{o.versus.record.variant_id}`: {label} {fmt_ratio(o.speed)}"


def option_text(o: Option, label: str) -> str:
    q = o.versus.quality
    change = fmt_change(q.change, q.low, q.high, q.base)
    quality = f"for {q.metric} {change} ({verdict_text(o.versus)})"
    return f"{speed_text(o, label)} {quality}{_weights_text(o)}"


def _names(found: Sequence[VersusBase]) -> str:
    return ", ".join(f"`{v.record.variant_id}`" for v in found)


def _windows(record: Record, metric: str) -> int:
    value = record.perf.get(metric)
    return len(value.repeats or ()) if value is not None else 0


def unranked_text(s: SpeedStanding, metric: str, label: str) -> str:
    """Why speeds have no interval, with their point ratios (shown, never ranked)."""
    base = s.unranked[0].base
    few = [v for v in s.unranked if _windows(v.record, metric) < MIN_TIMED_REPEATS]
    why = (
        f"the base was timed in {_windows(base, metric)} window(s)"
        if _windows(base, metric) < MIN_TIMED_REPEATS
        else f"{_names(few)} timed in fewer than {MIN_TIMED_REPEATS} windows"
    )
    points = ", ".join(
        f"`{v.record.variant_id}` {fmt_ratio((r[0], r[0], r[0]))}"
        for v in s.unranked
        if (r := v.ratios.get(metric)) is not None
    )
    return f"{why}, so {label} ratios have no interval" + (f" (points: {points})" if points else "")


def no_pick_text(s: SpeedStanding, metric: str, compared: int) -> str:
    """No variant is a pick: say whether that is shown or merely unknown."""
    label = SPEED_LABELS[metric]
    if s.faster:
        return (
            f"no variant meets a quality constraint: {_names(s.faster)} faster by {label}, "
            "but each loses more than the tolerance or has no quality to compare"
        )
    if s.unranked:
        return f"cannot rank: {unranked_text(s, metric, label)}"
    if s.tied:
        slower = f"; {_names(s.slower)} slower" if s.slower else ""
        return (
            f"cannot rank: {_names(s.tied)} tie with the base on {label} (intervals include "
            f"+0%){slower}; nothing here shows a gain from switching"
        )
    if s.slower:
        kernels = f"; {_names(s.same_kernels)} run its kernels" if s.same_kernels else ""
        return f"ship the base: every variant is slower by {label} ({compared} compared){kernels}"
    if len(s.same_kernels) == compared:
        return f"cannot rank: every variant runs the base's kernels, so none differs in {label}"
    return f"cannot rank: no variant reports {label} against the base"


def constant_text(found: Sequence[VersusBase]) -> str:
    """Every variant scored the same on every sample: no interval can say anything."""
    q, base = found[0].quality, found[0].base
    n = base.quality[q.metric].n
    text = (
        f"{q.metric} {fmt_number(q.base)} for every variant (n = {n}): cannot tell variants apart"
    )
    if base.quality[q.metric].unit == "fraction":
        points = round(DETECT_POINTS * 100)
        needed = samples_to_detect(DETECT_POINTS)
        text += f"; a {points}-point change is detectable (80% power) at n ≥ {needed}"
    return text


def _head(base: Record, q: QualityChange) -> str:
    arrow = "↑" if base.quality[q.metric].higher_is_better is not False else "↓"
    return f"- **{base.model}** · {base.task} (base `{base.variant_id}`: {q.metric} {arrow} " + (
        fmt_number(q.base)
    )


def model_task_lines(
    records: Sequence[Record], found: Sequence[VersusBase], tolerance: float
) -> list[str]:
    """One model on one task: a head line with the base, then one sub-line per pick."""
    base, q = found[0].base, found[0].quality
    metric = task_speed_metric([base, *records])
    head = _head(base, q)
    if metric is None:
        return [f"{head}): no speed that every variant reports; nothing ranked"]
    label = SPEED_LABELS[metric]
    standing = speed_standing(found, metric)
    if constant_quality(found):
        fastest = options(found, metric)[:1]
        speed = [
            f"  - fastest (quality cannot tell): {speed_text(o, label)}{_weights_text(o)}"
            for o in fastest
        ]
        if not fastest and standing.unranked:
            speed = [f"  - speed not ranked: {unranked_text(standing, metric, label)}"]
        return [f"{head}): {constant_text(found)}", *speed]
    front = frontier_names(records, base, metric, q.metric)
    chosen = picks(options(found, metric), front, tolerance)
    if not chosen:
        return [f"{head}): {no_pick_text(standing, metric, len(found))}"]
    lines = [f"{head}; by {label}):", *(f"  - {c}: {option_text(o, label)}" for c, o in chosen)]
    if standing.unranked:
        lines.append(f"  - not ranked: {unranked_text(standing, metric, label)}")
    return lines


def answer_section(
    records: Sequence[Record], found: Sequence[VersusBase], tolerance: float = TOLERANCE
) -> str:
    groups: dict[tuple[str, str], list[VersusBase]] = {}
    for v in found:
        groups.setdefault((v.base.model, v.base.task), []).append(v)
    lines: list[str] = []
    for (model, task), mine in sorted(groups.items()):
        recs = [r for r in records if r.model == model and r.task == task]
        loads = [v for v in mine if is_load_level(v)]
        variants = [v for v in mine if not is_load_level(v)]
        if variants:
            shipped = {v.record.variant_id for v in loads}
            lines += model_task_lines(
                [r for r in recs if r.variant_id not in shipped], variants, tolerance
            )
        if loads:
            lines.append(load_line(loads))
    compared = {m for m, _ in groups}
    alone = sorted({r.model for r in records} - compared)
    if alone:
        lines.append(f"- only a base ran, nothing to choose: {', '.join(f'`{m}`' for m in alone)}")
    if not lines:
        return ""
    return "\n".join(["## What to deploy", "", *lines, "", _note(tolerance)])


def _note(tolerance: float) -> str:
    return (
        "Per model and task against its unmodified base, on the same samples; figures are "
        "variant vs base with 95% intervals (speed: ratio of medians, + is faster; quality: "
        f"variant − base). *Faster* means the speed interval lies above +0%; variants on their "
        f"base's kernels are never faster. The tolerance ({tolerance:.0%}) is judged at the "
        "worst end of the quality interval. *Detectable*: the smallest change the sample "
        "would show with 80% power. *Ship the base* only where every variant was shown "
        "slower; *cannot rank* says what is missing. Load levels of a served model are "
        "capacity, not variants: their line says up to which load the SLO holds. Details: "
        "*Each variant against its base* below."
    )
