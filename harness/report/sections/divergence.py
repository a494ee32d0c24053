"""How far each compression variant's token distributions moved from its reference's: the KL
table and, per task, KL against bits per weight (where people would rather look than read)."""

from __future__ import annotations

from collections.abc import Sequence

from harness.core.perf_names import PerfName
from harness.core.perf_specs import Kernels
from harness.metrics.divergence import (
    KL_METRIC,
    QUANTILES,
    SHARED_METRIC,
    TOP1_METRIC,
    UNAVAILABLE_KEY,
)
from harness.report.analysis.scaling import Series, bits_ladder
from harness.report.sections.format import file_slug, fmt_number, fmt_value, table
from harness.report.sections.parts import ScalingFigure, Section
from harness.store.records import Record

HEADERS = [
    "task",
    "variant",
    "reference",
    "bits/weight",
    "KL (nats/token) [95% CI]",
    "KL p50",
    "KL p99",
    "top-1 agreement [95% CI]",
    "shared mass",
]
INTRO = (
    "## Distance from the base distribution\n\nKL(reference ‖ variant) per scored token of the "
    "perplexity texts, mean with a 95% bootstrap interval over texts, its median and p99 over "
    "tokens, and how often the two agree on the most likely next token. The reference is the "
    "model's base variant (or the entry's declared `reference`). Each side keeps its top-k "
    "tokens per position: the KL is taken over the tokens both keep plus the rest as one "
    "outcome, a lower bound on the exact KL, tight when the shared mass (the reference's "
    "probability on those tokens) is near 1. Perplexity deltas can hide this: two variants of "
    "equal perplexity can disagree on many tokens."
)


def _row(r: Record) -> list[str]:
    bits = r.perf.get(PerfName.BITS_PER_WEIGHT)
    q = r.quality
    return [
        r.task,
        r.variant_id,
        r.kl_reference or "—",
        fmt_number(bits.value) if bits else "—",
        fmt_value(q[KL_METRIC.name]),
        *[fmt_number(q[name].value) if name in q else "—" for name in QUANTILES],
        fmt_value(q[TOP1_METRIC.name]) if TOP1_METRIC.name in q else "—",
        fmt_number(q[SHARED_METRIC.name].value) if SHARED_METRIC.name in q else "—",
    ]


def divergence_section(records: Sequence[Record], rel: str) -> Section:
    compared = [r for r in records if KL_METRIC.name in r.quality]
    missing = [
        f"`{r.variant_id}` on {r.task}: {r.unavailable[UNAVAILABLE_KEY]}"
        for r in records
        if UNAVAILABLE_KEY in r.unavailable
    ]
    if not compared and not missing:
        return Section("")
    ordered = sorted(compared, key=lambda r: (r.task, r.quality[KL_METRIC.name].value))
    parts = [INTRO, table(HEADERS, [_row(r) for r in ordered])]
    figures = []
    for task in sorted({r.task for r in compared}):
        figure = _figure(task, [r for r in compared if r.task == task])
        if figure:
            figures.append(figure)
            parts.append(f"![{task}: KL vs bits per weight]({rel}/{figure.name})")
    if missing:
        parts.append("Not compared:\n\n" + "\n".join(f"- {m}" for m in missing))
    return Section("\n\n".join(parts), tuple(figures))


def _figure(task: str, records: Sequence[Record]) -> ScalingFigure | None:
    """KL against bits per weight, one series per ladder (real kernels apart from simulated
    round-trips); variants without a bit width (pruning, depth) stay in the table only."""
    ladders: dict[str, list[Record]] = {}
    for r in records:
        if PerfName.BITS_PER_WEIGHT in r.perf:
            ladders.setdefault(f"{r.model}: {bits_ladder(r)}", []).append(r)
    if not any(len(rs) > 1 for rs in ladders.values()):
        return None
    series = []
    for label, rs in sorted(ladders.items()):
        values = [r.quality[KL_METRIC.name] for r in rs]
        series.append(
            Series(
                label=label,
                x=[r.perf[PerfName.BITS_PER_WEIGHT].value for r in rs],
                y=[v.value for v in values],
                low=[v.ci_low if v.ci_low is not None else v.value for v in values],
                high=[v.ci_high if v.ci_high is not None else v.value for v in values],
                names=[r.variant_id for r in rs],
                simulated=all(r.kernels is Kernels.SIMULATED for r in rs),
            )
        )
    return ScalingFigure(
        file_slug(task) + "_kl_bits.png",
        f"{task}: KL to the base vs bits per weight",
        "bits per weight",
        "KL (nats/token)",
        series,
        log_x=False,
        connect=True,
    )
