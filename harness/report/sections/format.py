"""Markdown tables of a run: one per task, value ± CI half-width, with n."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from harness.core.perf_names import PerfName
from harness.core.values import Value
from harness.store.records import Record


def file_slug(text: str) -> str:
    """A task or model name as part of a figure's file name: every other character to _."""
    return "".join(c if c.isalnum() else "_" for c in text)


def fmt_number(x: float) -> str:
    if x == 0 or 1e-3 <= abs(x) < 1e6:
        return f"{x:.4g}"
    return f"{x:.3e}"


def fmt_value(v: Value) -> str:
    if v.ci_low is None or v.ci_high is None:
        return fmt_number(v.value)
    return f"{fmt_number(v.value)} [{fmt_number(v.ci_low)}, {fmt_number(v.ci_high)}]"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.1f} GiB"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


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
