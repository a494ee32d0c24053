"""The deployer's tables: each variant against its base (what do I lose, what do I gain)
and the latency table."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from harness.core.perf_names import Percentiled, PerfName, percentile_name
from harness.core.perf_specs import Scope
from harness.metrics.divergence import KL_METRIC
from harness.report.analysis.choices import SIGN_TEST_MIN_CHANGES
from harness.report.analysis.speed import SPEED_METRICS, same_kernels
from harness.report.analysis.versus import Ratio, SampleScores, VersusBase, versus_base
from harness.report.sections.format import fmt_number, fmt_value, table
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


def _kl_to(record: Record, base: Record) -> str:
    """The variant's KL to this base, where the run compared their distributions."""
    kl = record.quality.get(KL_METRIC.name)
    if kl is None or record.kl_reference != base.variant_id:
        return "—"
    return fmt_value(kl)


def verdict_text(v: VersusBase) -> str:
    """The verdict, with the smallest change the sample could have detected when it saw
    none (an interval alone reads as certainty)."""
    q = v.quality
    if not q.verdict.startswith("no detectable"):
        return q.verdict
    base = v.base.quality[q.metric]
    if q.constant and q.method.startswith("paired"):  # identical on every shared sample
        n = base.n or 0
        if base.unit != "fraction" or not n:
            return f"{q.verdict}; identical on every sample"
        least = SIGN_TEST_MIN_CHANGES
        if n < least:
            return f"{q.verdict}; identical on all {n}: none detectable below n = {least}"
        return f"{q.verdict}; identical on all {n}: a change under {least / n:.2g} cannot show"
    detectable = q.detectable
    return q.verdict if detectable is None else f"{q.verdict}; detectable: ±{detectable:.3g}"


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
    "KL to base",
    "input tok/s",
    "output tok/s",
    "peak RSS",
    "weights",
]


def vs_base_section(records: Sequence[Record], samples: SampleScores, seed: int) -> str:
    return vs_base_table(versus_base(records, samples, seed))


def vs_base_table(found: Sequence[VersusBase]) -> str:
    """The section from comparisons already made (the report's first screen reads the same
    ones: the paired bootstraps run once)."""
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
                f"**{q.verdict}**" if q.verdict in ("better", "worse") else verdict_text(v),
                _kl_to(v.record, v.base),
                *[
                    "= base (same kernels)" if same_kernels(v.record) else fmt_ratio(v.ratios[m])
                    for m in SPEED_METRICS
                ],
                fmt_ratio(v.ratios[PerfName.PEAK_RSS]),
                fmt_ratio(v.ratios[PerfName.WEIGHT_BYTES]),
            ]
        )
        if q.verdict.startswith("no detectable"):
            ties[v.record.task].append(f"`{v.record.variant_id}`")
    intro = (
        "## Each variant against its base\n\nWhat a variant loses or gains against the "
        "same model without the change, on the same samples. Quality: the task's primary "
        "metric, change = variant − base with a 95% paired-bootstrap interval; the verdict "
        "is *better* or *worse* only when the interval excludes zero. KL to base: nats per "
        "token on perplexity tasks (see the next section), which moves where the metric "
        "cannot tell. Speed and memory: "
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


TTFT_P50 = percentile_name(Percentiled.TTFT, "p50")
LATENCY_P50 = percentile_name(Percentiled.LATENCY, "p50")
SCOPE_WORDS = {Scope.PER_REQUEST: "per request", Scope.PER_BATCH: "per batch"}
LATENCY = [
    (percentile_name(Percentiled.TTFT, "p50"), "TTFT p50"),
    (percentile_name(Percentiled.TTFT, "p90"), "p90"),
    (percentile_name(Percentiled.TTFT, "p99"), "p99"),
    (percentile_name(Percentiled.LATENCY, "p50"), "latency p50"),
    (percentile_name(Percentiled.LATENCY, "p90"), "p90"),
    (percentile_name(Percentiled.LATENCY, "p99"), "p99"),
    (PerfName.TIME_PER_OUTPUT_TOKEN, "TPOT"),
]


def latency_section(records: Sequence[Record]) -> str:
    rows = []
    for r in sorted(records, key=lambda r: (r.task, r.variant_id)):
        if (
            percentile_name(Percentiled.TTFT, "p50") not in r.perf
            and percentile_name(Percentiled.LATENCY, "p50") not in r.perf
        ):
            continue
        spec = r.perf_spec(percentile_name(Percentiled.TTFT, "p50")) or r.perf_spec(
            percentile_name(Percentiled.LATENCY, "p50")
        )
        scope = SCOPE_WORDS.get(spec.scope, spec.scope.value) if spec else "per request"
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
