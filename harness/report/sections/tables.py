"""The quality and performance tables of a run: one quality table per task (value with its
95% CI, with n), and one performance table of speeds, memory and weights."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from harness.core.perf_names import PerfName
from harness.core.values import Value
from harness.report.sections.format import fmt_bytes, fmt_value, table
from harness.store.records import Record

PERF_INTRO = (
    "Medians over the timed repeats with their min..max in brackets; input (prompt or "
    "scored) and output (generated) tokens per second are different rates and never "
    "compared with each other.\n\n"
)


def quality_section(records: Sequence[Record]) -> str:
    return "## Quality by task\n\n" + task_tables(records)


def performance_section(records: Sequence[Record]) -> str:
    return "## Performance\n\n" + PERF_INTRO + perf_table(records)


def task_tables(records: Sequence[Record]) -> str:
    by_task: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_task[record.task].append(record)
    parts = []
    for task, recs in sorted(by_task.items()):
        metrics = list(dict.fromkeys(m for r in recs for m in r.quality))  # union, in order
        first = {m: next(r.quality[m] for r in recs if m in r.quality) for m in metrics}
        headers = ["variant", *[_metric_header(first[m], m) for m in metrics], "n"]
        rows = [
            [
                r.variant_id,
                *[fmt_value(r.quality[m]) if m in r.quality else "—" for m in metrics],
                str(next(iter(r.quality.values())).n),
            ]
            for r in sorted(recs, key=lambda r: r.variant_id)
        ]
        parts.append(f"### {task}\n\nValues with 95% CI in brackets.\n\n{table(headers, rows)}")
    return "\n\n".join(parts)


def _metric_header(v: Value, name: str) -> str:
    arrow = "" if v.higher_is_better is None else (" ↑" if v.higher_is_better else " ↓")
    return f"{name} ({v.unit}){arrow}"


def perf_table(records: Sequence[Record]) -> str:
    headers = ["variant", "task", "wall (s)", "input tok/s", "output tok/s", "peak RSS", "weights"]
    rows = []
    for r in sorted(records, key=lambda r: (r.variant_id, r.task)):
        rss, weights = r.perf.get(PerfName.PEAK_RSS), r.perf.get(PerfName.WEIGHT_BYTES)
        rows.append(
            [
                r.variant_id,
                r.task,
                f"{r.wall_s:.1f}",
                *[
                    fmt_value(r.perf[k]) if k in r.perf else "—"
                    for k in (PerfName.INPUT_TOKENS_PER_S, PerfName.OUTPUT_TOKENS_PER_S)
                ],
                fmt_bytes(rss.value) if rss else "—",
                fmt_bytes(weights.value) if weights else "—",
            ]
        )
    return table(headers, rows)
