"""The report's trend section: per task, the doubling time of quality per unit of cost with
its interval (or why it was refused), and a figure of the measured and external points."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from harness.core.errors import UserError
from harness.report.markdown import file_slug, table
from harness.report.trend import (
    MIN_DATES,
    Cost,
    TrendFit,
    TrendPoint,
    TrendRefusal,
    fit_doubling,
    measured_points,
)
from harness.store.records import Record

COLUMNS = ("name", "released", "task", "efficiency", "cost")
HEADERS = ["task", "models", "dates", "doubling time (months) [95% CI]", "note"]


@dataclass(frozen=True)
class TrendOptions:
    cost: Cost = Cost.SECOND
    price_per_hour: float | None = None  # for Cost.DOLLAR: what an hour of the machine costs
    points: Path | None = None  # a CSV of published results, drawn beside the measured ones

    def __post_init__(self) -> None:
        if self.cost is Cost.DOLLAR and not (self.price_per_hour and self.price_per_hour > 0):
            raise UserError("--trend-cost dollar needs --price-per-hour (a positive number)")


def read_external(path: Path, cost: Cost) -> dict[str, list[TrendPoint]]:
    """External points by task from a CSV with the columns in COLUMNS; every row's `cost`
    must be the trend's, so units never mix."""
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except OSError as err:
        raise UserError(f"--trend-points {path}: cannot read ({err.strerror})") from None
    if not rows or set(COLUMNS) - set(rows[0]):
        missing = ", ".join(sorted(set(COLUMNS) - set(rows[0] if rows else {})))
        raise UserError(
            f"--trend-points {path}: needs the columns {', '.join(COLUMNS)}; "
            f"missing {missing or 'every row'}"
        )
    out: dict[str, list[TrendPoint]] = {}
    for line, row in enumerate(rows, start=2):
        where = f"--trend-points {path}:{line}"
        if row["cost"] != cost.value:
            raise UserError(f"{where}: cost '{row['cost']}' is not the trend's '{cost.value}'")
        try:
            point = TrendPoint(
                row["name"], date.fromisoformat(row["released"]), float(row["efficiency"]), False
            )
        except ValueError as err:
            raise UserError(
                f"{where}: {err} (released: YYYY-MM-DD; efficiency: a number)"
            ) from None
        if not (math.isfinite(point.efficiency) and point.efficiency > 0):
            raise UserError(
                f"{where}: efficiency must be a positive number, got {row['efficiency']}"
            )
        out.setdefault(row["task"], []).append(point)
    return out


def _fit_cell(fit: TrendFit | TrendRefusal) -> tuple[str, str]:
    if isinstance(fit, TrendRefusal):
        return "not fitted", fit.reason
    if math.isinf(fit.doubling_months):
        return "no improvement", "efficiency did not rise with release date"
    high = "∞" if math.isinf(fit.high) else f"{fit.high:.1f}"
    note = "" if not math.isinf(fit.high) else "the interval admits no improvement"
    return f"{fit.doubling_months:.1f} [{fit.low:.1f}, {high}]", note


def trend_section(
    records: Sequence[Record], fig_dir: Path, rel: str, seed: int, options: TrendOptions
) -> str:
    external = read_external(options.points, options.cost) if options.points else {}
    tasks = sorted({r.task for r in records if r.model_released} | set(external))
    if not tasks:
        return ""
    rows, figures, skipped = [], [], []
    for task in tasks:
        points, left_out = measured_points(records, task, options.cost, options.price_per_hour)
        skipped += [f"{task}: {why}" for why in left_out]
        if not points and not external.get(task):
            continue  # nothing to place: the reasons are in the left-out list
        fit = fit_doubling(points, seed)
        cell, note = _fit_cell(fit)
        rows.append([task, str(len(points)), str(len({p.released for p in points})), cell, note])
        if points or external.get(task):
            figures.append(
                _figure(task, points, external.get(task, []), fit, fig_dir, rel, options)
            )
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
    parts = [intro, table(HEADERS, rows), *figures]
    if skipped:
        parts.append("Left out:\n\n" + "\n".join(f"- {s}" for s in skipped))
    return "\n\n".join(parts)


def _cost_words(options: TrendOptions) -> str:
    if options.cost is Cost.DOLLAR:
        return f"machine time at ${options.price_per_hour:g} per hour"
    if options.cost is Cost.JOULE:
        return "measured net energy"
    return "the measured machine's time"


def _figure(
    task: str,
    points: Sequence[TrendPoint],
    external: Sequence[TrendPoint],
    fit: TrendFit | TrendRefusal,
    fig_dir: Path,
    rel: str,
    options: TrendOptions,
) -> str:
    from harness.report.plots import trend_plot

    name = file_slug(task) + "_trend.png"
    fig_dir.mkdir(parents=True, exist_ok=True)
    line = None if not isinstance(fit, TrendFit) else (fit.t0, fit.slope_per_month, fit.intercept)
    trend_plot(
        fig_dir / name,
        f"{task}: quality per {options.cost} by release date",
        f"primary metric x samples per {options.cost}",
        [*points, *external],
        line,
    )
    return f"![{task}: quality per {options.cost} by release date]({rel}/{name})"
