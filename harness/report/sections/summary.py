"""The summary: one line per task. Where quality or speed separates nothing, the task's
"no detectable difference" is said once, in one sentence, instead of one line per metric
(a run with many small tasks otherwise opened with a screen of "tied" lines)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.report.analysis.aggregate import primary_metric
from harness.report.analysis.flags import flags
from harness.report.analysis.speed import Speed, comparable_speeds, fastest, speed_of
from harness.report.analysis.versus import base_records
from harness.report.sections.format import fmt_number
from harness.store.records import Record

NO_DIFFERENCE = "no detectable difference in"


@dataclass(frozen=True)
class Clause:
    """One thing the summary says about a task: what (a metric or a speed) and the detail.
    A tie is a clause with nothing separated; a task's ties are merged into one sentence."""

    what: str
    detail: str
    tie: bool

    @property
    def text(self) -> str:
        return f"{self.what} {self.detail}" if self.what else self.detail


def quality_clause(task: str, records: Sequence[Record]) -> Clause | None:
    """The best variant on the primary metric and every variant whose interval overlaps it."""
    recs = [r for r in records if r.task == task]
    metric = primary_metric(recs[0])
    recs = [r for r in recs if metric in r.quality]
    if not recs:
        return None
    sign = 1 if recs[0].quality[metric].higher_is_better is not False else -1
    best = max(recs, key=lambda r: sign * r.quality[metric].value)
    b = best.quality[metric]
    tied = [r for r in recs if r is not best and _overlaps(r, best, metric)]
    text = f"{metric} {fmt_number(b.value)}"
    if b.ci_low is not None and b.ci_high is not None:
        text += f" [{fmt_number(b.ci_low)}, {fmt_number(b.ci_high)}]"
    if len(recs) == 1:
        return Clause("", f"only `{best.variant_id}` ran ({text})", tie=False)
    if len(tied) == len(recs) - 1:
        detail = f"(all {len(recs)} intervals overlap; top value {text} by `{best.variant_id}`)"
        return Clause(metric, detail, tie=True)
    others = f", tied with {', '.join(f'`{r.variant_id}`' for r in tied)}" if tied else ""
    return Clause("", f"best `{best.variant_id}` ({text}){others}", tie=False)


def _overlaps(a: Record, b: Record, metric: str) -> bool:
    x, y = a.quality[metric], b.quality[metric]
    if None in (x.ci_low, x.ci_high, y.ci_low, y.ci_high):
        return x.value == y.value
    assert x.ci_low is not None and x.ci_high is not None
    assert y.ci_low is not None and y.ci_high is not None
    return not (x.ci_low > y.ci_high or y.ci_low > x.ci_high)


def speed_clauses(task: str, records: Sequence[Record]) -> list[Clause]:
    """Fastest by input and by output tokens/s separately, ties named; speeds timed in fewer
    than 3 windows are listed as not ranked."""
    bases = base_records(records)
    out = []
    for metric, label in comparable_speeds([r for r in records if r.task == task]).items():
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
        out.append(_fastest_clause(label, group, apart, len(speeds) - len(unranked)))
        if unranked:
            out.append(_unranked_clause(label, unranked))
    return out


def _fastest_clause(label: str, group: list[Speed], apart: bool, total: int) -> Clause:
    if total < 2:
        return Clause(label, "(fewer than 2 variants timed in 3+ windows; nothing ranked)", False)
    if not apart:
        return Clause(label, f"(all {total} ranked variants tied: speed intervals overlap)", True)
    top = group[0]
    value = f"{fmt_number(top.value)} [{fmt_number(top.low)}, {fmt_number(top.high)}] {label}"
    if len(group) == 1:
        return Clause(f"fastest by {label}:", f"`{top.label}`, {value}", tie=False)
    names = ", ".join(f"`{s.label}`" for s in group)
    return Clause(f"fastest by {label}:", f"tied {names} (top {value})", tie=False)


def _unranked_clause(label: str, unranked: list[Speed]) -> Clause:
    names = ", ".join(
        f"`{s.record.variant_id}` {fmt_number(s.value)}"
        for s in sorted(unranked, key=lambda s: -s.value)
    )
    detail = f"(timed in fewer than 3 windows, no interval): {names}"
    return Clause(f"{label} not ranked", detail, tie=False)


def task_line(task: str, clauses: Sequence[Clause]) -> str:
    """One line: the task's ties merged into one "no detectable difference" sentence (ties
    with the same detail share it), then what the measurements do separate."""
    ties = [c for c in clauses if c.tie]
    merged: dict[str, list[str]] = {}
    for c in ties:
        merged.setdefault(c.detail, []).append(c.what)
    parts = []
    if ties:
        tied = ", ".join(f"{' and '.join(whats)} {detail}" for detail, whats in merged.items())
        parts.append(f"{NO_DIFFERENCE} {tied}")
    parts += [c.text for c in clauses if not c.tie]
    return f"- **{task}**: " + "; ".join(parts)


def task_lines(records: Sequence[Record]) -> list[str]:
    lines = []
    for task in sorted({r.task for r in records}):
        found = quality_clause(task, records)
        clauses = ([found] if found else []) + speed_clauses(task, records)
        if clauses:
            lines.append(task_line(task, clauses))
    return lines


def flag_lines(records: Sequence[Record]) -> list[str]:
    """The numbers that say a variant is broken (analysis.flags), one bullet each."""
    return [
        f"- ⚠ `{r.variant_id}` on {r.task}: {text}"
        for r in sorted(records, key=lambda r: (r.task, r.variant_id))
        for text in flags(r)
    ]


def summary(records: Sequence[Record]) -> str:
    lines = ["## Summary", "", *task_lines(records)]
    flagged = flag_lines(records)
    if flagged:
        lines += ["", "Failures (numbers that say the variant is broken):", *flagged]
    return "\n".join(lines)
