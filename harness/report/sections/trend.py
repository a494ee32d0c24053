"""The report's trend section: per task, the doubling time of quality per unit of cost with
its interval (or why it was refused), and a figure of the measured and external points."""

from __future__ import annotations

import math
from collections.abc import Sequence

from harness.report.analysis.aggregate import primary_metric
from harness.report.analysis.trend import (
    MIN_DATES,
    Cost,
    TrendFit,
    TrendOptions,
    TrendPoint,
    TrendRefusal,
    fit_doubling,
    measured_points,
    read_external,
)
from harness.report.sections.format import axis_label, file_slug, table
from harness.report.sections.parts import Section, TrendFigure
from harness.store.records import Record

HEADERS = ["task", "models", "dates", "doubling time (months) [95% CI]", "note"]


def _fit_cell(fit: TrendFit | TrendRefusal) -> tuple[str, str]:
    if isinstance(fit, TrendRefusal):
        return "not fitted", fit.reason
    if math.isinf(fit.doubling_months):
        return "no improvement", "efficiency did not rise with release date"
    high = "∞" if math.isinf(fit.high) else f"{fit.high:.1f}"
    note = "" if not math.isinf(fit.high) else "the interval admits no improvement"
    return f"{fit.doubling_months:.1f} [{fit.low:.1f}, {high}]", note


def trend_section(records: Sequence[Record], rel: str, seed: int, options: TrendOptions) -> Section:
    external = read_external(options.points, options.cost) if options.points else {}
    tasks = sorted({r.task for r in records if r.model_released} | set(external))
    if not tasks:
        return Section("")
    rows: list[list[str]] = []
    figures: list[TrendFigure] = []
    skipped: list[str] = []
    for task in tasks:
        points, left_out = measured_points(records, task, options.cost, options.price_per_hour)
        skipped += [f"{task}: {why}" for why in left_out]
        if not points and not external.get(task):
            continue  # nothing to place: the reasons are in the left-out list
        fit = fit_doubling(points, seed)
        cell, note = _fit_cell(fit)
        rows.append([task, str(len(points)), str(len({p.released for p in points})), cell, note])
        if points or external.get(task):
            quality = _quality_label(records, task)
            figures.append(_figure(task, quality, points, external.get(task, []), fit, options))
    intro = (
        "## Quality per cost across model generations\n\nPer task, each dated model's base "
        f"variant: its primary metric times samples per {options.cost} "
        f"({_cost_words(options)}), against its release date. log2 of it is fitted linearly "
        "in time; the doubling time is 1/slope with a 95% bootstrap interval over models. "
        f"A trend needs at least {MIN_DATES} distinct release dates. External points (if "
        "given) are drawn, not fitted: other machines and methods. For scale, Epoch AI "
        "estimates from API prices that compute for a fixed quality halves every ~8 months "
        "(95% CI 5-14)."
    )
    links = [f"![{f.title}]({rel}/{f.name})" for f in figures]
    parts = [intro, table(HEADERS, rows), *links]
    if skipped:
        parts.append("Left out:\n\n" + "\n".join(f"- {s}" for s in skipped))
    return Section("\n\n".join(parts), tuple(figures))


def _cost_words(options: TrendOptions) -> str:
    if options.cost is Cost.DOLLAR:
        return f"machine time at ${options.price_per_hour:g} per hour"
    if options.cost is Cost.JOULE:
        return "measured net energy"
    return "the measured machine's time"


def _quality_label(records: Sequence[Record], task: str) -> str:
    """The task's primary metric with its unit, for the figure's axis."""
    first = next((r for r in records if r.task == task), None)
    if first is None:
        return "primary metric"
    metric = primary_metric(first)
    return axis_label(metric, first.quality[metric].unit)


def _figure(
    task: str,
    quality: str,
    points: Sequence[TrendPoint],
    external: Sequence[TrendPoint],
    fit: TrendFit | TrendRefusal,
    options: TrendOptions,
) -> TrendFigure:
    line = None if not isinstance(fit, TrendFit) else (fit.t0, fit.slope_per_month, fit.intercept)
    return TrendFigure(
        file_slug(task) + "_trend.png",
        f"{task}: quality per {options.cost} by release date",
        f"{quality} x samples per {options.cost}",
        [*points, *external],
        line,
    )
