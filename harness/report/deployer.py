"""The sections a deployer reads first: each variant against its base (what do I lose,
what do I gain), the latency table, and speed rankings that only separate what the
measurements separate."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from harness.report.aggregate import primary_metric
from harness.report.markdown import fmt_number, table
from harness.report.speed import SPEED_METRICS, Speed, fastest, same_kernels, speed_of
from harness.report.versus import Ratio, SampleScores, base_records, versus_base
from harness.store.records import Record


def fmt_ratio(r: Ratio | None) -> str:
    """A ratio as a percent change, or as x-times once it leaves [0.1, 10]."""
    if r is None:
        return "—"
    point, low, high = r

    def one(x: float) -> str:
        return f"×{x:.3g}" if x >= 10 or x <= 0.1 else f"{(x - 1) * 100:+.1f}%"

    if math.isnan(low) or math.isnan(high):
        return f"{one(point)} (no interval: < 3 timed windows)"
    return one(point) if low == high == point else f"{one(point)} [{one(low)}, {one(high)}]"


def fmt_change(change: float, low: float, high: float, base: float) -> str:
    text = f"{change:+.4g} [{low:+.4g}, {high:+.4g}]"
    if base and abs(change / base) >= 10:
        text += f" (×{(base + change) / base:.3g})"
    return text


VS_HEADERS = [
    "task",
    "variant",
    "metric",
    "base → variant",
    "change [95% CI]",
    "verdict",
    "input tok/s",
    "output tok/s",
    "peak RSS",
    "weights",
]


def vs_base_section(records: Sequence[Record], samples: SampleScores, seed: int) -> str:
    found = versus_base(records, samples, seed)
    if not found:
        return ""
    rows = []
    ties: dict[str, list[str]] = defaultdict(list)
    for v in found:
        q = v.quality
        name = v.record.variant_id + (" ‡" if same_kernels(v.record) else "")
        rows.append(
            [
                v.record.task,
                name,
                q.metric,
                f"{fmt_number(q.base)} → {fmt_number(q.value)}",
                fmt_change(q.change, q.low, q.high, q.base),
                f"**{q.verdict}**" if q.verdict in ("better", "worse") else q.verdict,
                *[
                    "= base (same kernels)" if same_kernels(v.record) else fmt_ratio(v.ratios[m])
                    for m in SPEED_METRICS
                ],
                fmt_ratio(v.ratios["peak_rss"]),
                fmt_ratio(v.ratios["weight_bytes"]),
            ]
        )
        if q.verdict.startswith("no detectable"):
            ties[v.record.task].append(f"`{v.record.variant_id}`")
    intro = (
        "## Each variant against its base\n\nWhat a variant loses or gains against the "
        "same model without the change, on the same samples. Quality: the task's primary "
        "metric, change = variant − base with a 95% paired-bootstrap interval; the verdict "
        "is *better* or *worse* only when the interval excludes zero. Speed and memory: "
        "ratio of medians over the timed repeats, 95% bootstrap interval (speeds: + is "
        "faster; memory: + is more). ‡ runs the same kernels as its base (weights "
        "round-tripped through a quantizer and dequantized): its speed equals the base's by "
        "construction, and any difference shown is timing noise."
    )
    tie_lines = [
        f"- {task}: no detectable quality change vs base for {', '.join(names)}"
        for task, names in sorted(ties.items())
    ]
    return "\n\n".join([intro, table(VS_HEADERS, rows), "\n".join(tie_lines)]).rstrip()


def best_lines(records: Sequence[Record]) -> list[str]:
    """Per task, the variants whose primary-metric interval overlaps the best one's."""
    lines = []
    for task in sorted({r.task for r in records}):
        recs = [r for r in records if r.task == task]
        metric = primary_metric(recs[0])
        recs = [r for r in recs if metric in r.quality]
        if not recs:
            continue
        sign = 1 if recs[0].quality[metric].higher_is_better is not False else -1
        best = max(recs, key=lambda r: sign * r.quality[metric].value)
        b = best.quality[metric]
        tied = [r for r in recs if r is not best and _overlaps(r, best, metric)]
        text = f"{metric} {fmt_number(b.value)}"
        if b.ci_low is not None and b.ci_high is not None:
            text += f" [{fmt_number(b.ci_low)}, {fmt_number(b.ci_high)}]"
        if len(recs) == 1:
            lines.append(f"- **{task}**: only `{best.variant_id}` ran ({text})")
        elif len(tied) == len(recs) - 1:
            lines.append(
                f"- **{task}**: no variant is distinguishable on {metric} at this n "
                f"(all {len(recs)} intervals overlap; top value {text} by `{best.variant_id}`)"
            )
        else:
            others = f", tied with {', '.join(f'`{r.variant_id}`' for r in tied)}" if tied else ""
            lines.append(f"- **{task}**: best `{best.variant_id}` ({text}){others}")
    return lines


def _overlaps(a: Record, b: Record, metric: str) -> bool:
    x, y = a.quality[metric], b.quality[metric]
    if None in (x.ci_low, x.ci_high, y.ci_low, y.ci_high):
        return x.value == y.value
    assert x.ci_low is not None and x.ci_high is not None
    assert y.ci_low is not None and y.ci_high is not None
    return not (x.ci_low > y.ci_high or y.ci_low > x.ci_high)


def fastest_lines(records: Sequence[Record]) -> list[str]:
    """Fastest by input and by output tokens/s separately, per task, ties named."""
    bases = base_records(records)
    lines = []
    for metric, label in SPEED_METRICS.items():
        for task in sorted({r.task for r in records}):
            speeds = [
                s
                for r in records
                if r.task == task
                and (s := speed_of(r, metric, bases.get((r.model, r.task)))) is not None
            ]
            if len(speeds) < 2:
                continue
            group, apart = fastest(speeds)
            unranked = [s for s in speeds if not s.ranked]
            lines.append(_fastest_line(task, label, group, apart, len(speeds) - len(unranked)))
            if unranked:
                lines.append(_unranked_line(task, label, unranked))
    return lines


def _fastest_line(task: str, label: str, group: list[Speed], apart: bool, total: int) -> str:
    if total < 2:
        return f"- {task}, {label}: fewer than 2 variants timed in 3+ windows; nothing ranked"
    top = group[0]
    value = f"{fmt_number(top.value)} [{fmt_number(top.low)}, {fmt_number(top.high)}] {label}"
    if not apart:
        return f"- {task}, {label}: all {total} ranked variants tied (speed intervals overlap)"
    if len(group) == 1:
        return f"- {task}, fastest by {label}: `{top.label}`, {value}"
    names = ", ".join(f"`{s.label}`" for s in group)
    return f"- {task}, fastest by {label}: tied {names} (top {value})"


def _unranked_line(task: str, label: str, unranked: list[Speed]) -> str:
    names = ", ".join(
        f"`{s.record.variant_id}` {fmt_number(s.value)}"
        for s in sorted(unranked, key=lambda s: -s.value)
    )
    return f"- {task}, {label}, not ranked (timed in fewer than 3 windows, so no interval): {names}"


LATENCY = [
    ("ttft_p50", "TTFT p50"),
    ("ttft_p90", "p90"),
    ("ttft_p99", "p99"),
    ("latency_p50", "latency p50"),
    ("latency_p90", "p90"),
    ("latency_p99", "p99"),
    ("time_per_output_token", "TPOT"),
]


def latency_section(records: Sequence[Record]) -> str:
    rows = []
    for r in sorted(records, key=lambda r: (r.task, r.variant_id)):
        if "ttft_p50" not in r.perf and "latency_p50" not in r.perf:
            continue
        note = (r.perf.get("ttft_p50") or r.perf["latency_p50"]).note or ""
        scope = note.split(":", 1)[0] if note else "per request"
        cells = [f"{r.perf[k].value * 1000:.1f}" if k in r.perf else "—" for k, _ in LATENCY]
        rows.append([r.task, r.variant_id, scope, *cells])
    if not rows:
        return ""
    headers = ["task", "variant", "measured", *[f"{h} (ms)" for _, h in LATENCY]]
    return (
        "## Latency\n\nTime to first token (TTFT), whole-request latency and time per output "
        "token (TPOT), in milliseconds. *per batch*: every request of a batch carries its "
        "batch's times (the transformers backend decodes a batch in lock-step); *per "
        "request*: each request's own times.\n\n" + table(headers, rows)
    )
