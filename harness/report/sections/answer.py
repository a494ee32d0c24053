"""The report's first screen: per model and task, which variant to ship under which
constraint and what it costs (analysis.choices), read from the same variant-vs-base
comparisons as the table below it (paired-bootstrap quality change, bootstrap speed ratio,
both with 95% intervals)."""

from __future__ import annotations

from collections.abc import Sequence

from harness.core.perf_names import PerfName
from harness.report.analysis.choices import (
    TOLERANCE,
    Option,
    frontier_names,
    options,
    picks,
)
from harness.report.analysis.scaling import task_speed_metric
from harness.report.analysis.speed import SPEED_LABELS
from harness.report.analysis.versus import VersusBase
from harness.report.sections.deployer import fmt_change, fmt_ratio
from harness.report.sections.format import fmt_number
from harness.store.records import Record


def option_text(o: Option, label: str) -> str:
    q, v = o.versus.quality, o.versus
    verdict = "no detectable change" if q.verdict.startswith("no detectable") else q.verdict
    weights = v.ratios.get(PerfName.WEIGHT_BYTES)
    memory = f"; weights {fmt_ratio(weights)}" if weights is not None else ""
    return (
        f"`{v.record.variant_id}`: {label} {fmt_ratio(o.speed)} for {q.metric} "
        f"{fmt_change(q.change, q.low, q.high, q.base)} ({verdict}){memory}"
    )


def model_task_lines(
    records: Sequence[Record], found: Sequence[VersusBase], tolerance: float
) -> list[str]:
    """One model on one task: a head line with the base, then one sub-line per pick."""
    base, q = found[0].base, found[0].quality
    metric = task_speed_metric([base, *records])
    arrow = "↑" if base.quality[q.metric].higher_is_better is not False else "↓"
    head = f"- **{base.model}** · {base.task} (base `{base.variant_id}`: {q.metric} {arrow} "
    head += fmt_number(q.base)
    if metric is None:
        return [f"{head}): no speed that every variant reports; nothing ranked"]
    label = SPEED_LABELS[metric]
    front = frontier_names(records, base, metric, q.metric)
    chosen = picks(options(found, metric), front, tolerance)
    if not chosen:
        return [f"{head}): ship the base; no variant is faster by {label} ({len(found)} compared)"]
    return [f"{head}; by {label}):", *(f"  - {c}: {option_text(o, label)}" for c, o in chosen)]


def answer_section(
    records: Sequence[Record], found: Sequence[VersusBase], tolerance: float = TOLERANCE
) -> str:
    groups: dict[tuple[str, str], list[VersusBase]] = {}
    for v in found:
        groups.setdefault((v.base.model, v.base.task), []).append(v)
    lines: list[str] = []
    for (model, task), mine in sorted(groups.items()):
        recs = [r for r in records if r.model == model and r.task == task]
        lines += model_task_lines(recs, mine, tolerance)
    compared = {m for m, _ in groups}
    alone = sorted({r.model for r in records} - compared)
    if alone:
        lines.append(f"- only a base ran, nothing to choose: {', '.join(f'`{m}`' for m in alone)}")
    if not lines:
        return ""
    note = (
        "Per model and task against its unmodified base, on the same samples; figures are "
        "variant vs base with 95% intervals (speed: ratio of medians, + is faster; quality: "
        f"variant − base). *Faster* means the speed interval lies above +0%; variants on their "
        f"base's kernels are never faster. The tolerance ({tolerance:.0%}) is judged at the "
        "worst end of the quality interval. Trade-offs are the other faster variants on the "
        "model's quality-vs-speed frontier. Details: *Each variant against its base* below."
    )
    return "\n".join(["## What to deploy", "", *lines, "", note])
