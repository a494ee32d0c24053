"""The quality-per-cost trend ("AI's Moore's law"): how fast the quality a unit of cost buys
improves across model generations, fitted from measured runs.

Per task, each model's base variant gives one point: its release date (the model entry's
`released`) and its efficiency, the primary metric times samples per unit of cost (per second
of the measured machine, per joule of measured energy, or per dollar at a stated hardware
price). log2(efficiency) is fitted linearly in time: the doubling time is 1 / slope, in
months, with a 95% interval from a bootstrap over models. Epoch AI estimates the same rate
from API prices (compute for a fixed quality halves about every 8 months, 95% CI 5-14). Fits
are refused, with the reason, below MIN_DATES distinct release dates, as the scaling fits
refuse below their minimum sizes.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

import numpy as np

from harness.core.errors import UserError
from harness.core.perf_names import PerfName
from harness.report.analysis.aggregate import primary_metric
from harness.report.analysis.scaling import is_base
from harness.store.records import Record

MIN_DATES = 3
COLUMNS = ("name", "released", "task", "efficiency", "cost")  # of a --trend-points CSV
N_BOOT = 1000
DAYS_PER_MONTH = 365.25 / 12


class Cost(StrEnum):
    SECOND = "second"  # of the machine that measured the run
    JOULE = "joule"  # measured net energy
    DOLLAR = "dollar"  # machine time at --price-per-hour


@dataclass(frozen=True)
class TrendPoint:
    name: str
    released: date
    efficiency: float  # quality x samples per unit of cost
    measured: bool = True  # False: an external reference point (drawn, not fitted)


@dataclass(frozen=True)
class TrendFit:
    doubling_months: float
    low: float  # 95% interval of the doubling time; inf: improvement not shown
    high: float
    n_points: int
    n_dates: int
    t0: date  # where the fitted line's intercept sits
    slope_per_month: float  # log2(efficiency) per month
    intercept: float


@dataclass(frozen=True)
class TrendRefusal:
    reason: str


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


def _months(day: date, t0: date) -> float:
    return (day - t0).days / DAYS_PER_MONTH


def samples_per_cost(record: Record, cost: Cost, price_per_hour: float | None) -> float | None:
    rate = record.perf.get(PerfName.SAMPLES_PER_S)
    if cost is Cost.SECOND:
        return rate.value if rate else None
    if cost is Cost.DOLLAR:
        return rate.value * 3600 / price_per_hour if rate and price_per_hour else None
    energy = record.perf.get(PerfName.ENERGY_NET)
    n = next(iter(record.quality.values())).n if record.quality else 0
    return n / energy.value if energy and energy.value > 0 and n else None


def measured_points(
    records: Sequence[Record], task: str, cost: Cost, price_per_hour: float | None = None
) -> tuple[list[TrendPoint], list[str]]:
    """Each dated model's base variant on `task` as a point, and why others are left out."""
    points, skipped = [], []
    for r in sorted(records, key=lambda r: r.variant_id):
        if r.task != task or not is_base(r):
            continue
        metric = primary_metric(r)
        value = r.quality[metric]
        per_cost = samples_per_cost(r, cost, price_per_hour)
        if r.model_released is None:
            skipped.append(f"`{r.variant_id}`: its model entry gives no `released` date")
        elif value.higher_is_better is False:
            skipped.append(f"`{r.variant_id}`: {metric} is lower-is-better, not a quality per cost")
        elif per_cost is None:
            skipped.append(f"`{r.variant_id}`: no samples per {cost} measured")
        else:
            efficiency = value.value * per_cost
            points.append(
                TrendPoint(r.variant_id, date.fromisoformat(r.model_released), efficiency)
            )
    return points, skipped


def fit_doubling(points: Sequence[TrendPoint], seed: int) -> TrendFit | TrendRefusal:
    """OLS of log2(efficiency) on months; the doubling time 1/slope with a model bootstrap."""
    measured = [p for p in points if p.measured]
    usable = [p for p in measured if p.efficiency > 0]
    dates = {p.released for p in usable}
    if len(dates) < MIN_DATES:
        zero = len(measured) - len(usable)
        scored_zero = (
            f" ({zero} more scored 0, which a log-scale trend cannot place)" if zero else ""
        )
        return TrendRefusal(
            f"{len(dates)} distinct release date(s) among {len(usable)} model(s){scored_zero}; "
            f"a trend needs at least {MIN_DATES}"
        )
    t0 = min(dates)
    x = np.array([_months(p.released, t0) for p in usable])
    y = np.log2([p.efficiency for p in usable])
    slope, intercept = np.polyfit(x, y, 1)
    rng = np.random.default_rng(seed)
    slopes = []
    for _ in range(N_BOOT):
        pick = rng.integers(0, len(x), size=len(x))
        if len(set(x[pick])) >= 2:
            slopes.append(np.polyfit(x[pick], y[pick], 1)[0])
    s_low, s_high = np.percentile(slopes, [2.5, 97.5])
    return TrendFit(
        doubling_months=_doubling(float(slope)),
        low=_doubling(float(s_high)),
        high=_doubling(float(s_low)),
        n_points=len(usable),
        n_dates=len(dates),
        t0=t0,
        slope_per_month=float(slope),
        intercept=float(intercept),
    )


def _doubling(slope: float) -> float:
    """Months per doubling; inf where the slope shows no improvement."""
    return 1.0 / slope if slope > 0 else math.inf
