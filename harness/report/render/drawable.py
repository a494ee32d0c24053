"""No figure without information: what each kind of figure needs before it is drawn.

Nine "quality per second by release date" figures came from two models: empty log axes
(both scored 0), dates printed over each other, names in the margin. A figure that cannot
show what it is for is not drawn; the report says why in one line where its link would be.

- a trend needs MIN_DATES distinct release dates with a positive value (its axis is log2);
- a frontier needs MIN_RANKED variants with a ranked speed (timed in 3+ windows);
- a curve needs MIN_POINTS points it can place (on a log axis: positive ones);
- a serving figure needs a level with a throughput and both panels' latencies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from harness.core.perf_names import Percentiled, PerfName, percentile_name
from harness.report.analysis.trend import MIN_DATES
from harness.report.sections.parts import (
    File,
    FrontierFigure,
    ScalingFigure,
    ServingFigure,
    TrendFigure,
)

MIN_RANKED = 2
MIN_POINTS = 2


def _placeable(values: Iterable[float], log: bool) -> list[bool]:
    return [math.isfinite(v) and (v > 0 or not log) for v in values]


def _curve_refusal(figure: ScalingFigure) -> str | None:
    n = sum(
        1
        for s in figure.series
        for x_ok, y_ok in zip(_placeable(s.x, figure.log_x), _placeable(s.y, False), strict=True)
        if x_ok and y_ok
    )
    if n >= MIN_POINTS:
        return None
    where = " (a log axis places only positive values)" if figure.log_x else ""
    return f"{n} point(s) to draw{where}; a curve needs at least {MIN_POINTS}"


def _frontier_refusal(figure: FrontierFigure) -> str | None:
    ranked = sum(
        1
        for s, q in zip(figure.speeds, figure.quality, strict=True)
        if s.ranked and math.isfinite(q)
    )
    if ranked >= MIN_RANKED:
        return None
    return (
        f"{ranked} variant(s) with a ranked speed (timed in 3 or more windows); "
        f"a frontier needs at least {MIN_RANKED}"
    )


def _trend_refusal(figure: TrendFigure) -> str | None:
    dates = {p.released for p in figure.points if math.isfinite(p.efficiency) and p.efficiency > 0}
    if len(dates) >= MIN_DATES:
        return None
    zero = sum(1 for p in figure.points if not p.efficiency > 0)
    scored = f" ({zero} more point(s) at 0, which its log axis cannot place)" if zero else ""
    return (
        f"{len(dates)} distinct release date(s) with a positive value{scored}; "
        f"a trend needs at least {MIN_DATES}"
    )


def _serving_refusal(figure: ServingFigure) -> str | None:
    timed = [r for r in figure.levels if PerfName.ACHIEVED_OUTPUT_TOKENS_PER_S in r.perf]
    if not timed:
        return "no load level has a measured throughput"
    for family in (Percentiled.TTFT, Percentiled.TPOT):
        if not any(percentile_name(family, "p50") in r.perf for r in timed):
            return f"no load level has a measured {family.value.upper()}"
    return None


@dataclass(frozen=True)
class NotDrawn:
    """A figure left out, and the report's one line that says why."""

    title: str
    reason: str

    @property
    def line(self) -> str:
        return f"*No figure ({self.title}): {self.reason}.*"


def refusal(file: File) -> NotDrawn | None:
    """Why `file` would be a figure without information; None when it is worth drawing."""
    match file:
        case ScalingFigure():
            reason = _curve_refusal(file)
        case FrontierFigure():
            reason = _frontier_refusal(file)
        case TrendFigure():
            reason = _trend_refusal(file)
        case ServingFigure():
            reason = _serving_refusal(file)
        case _:
            return None
    return NotDrawn(file.title, reason) if reason is not None else None


def replace_link(text: str, name: str, line: str) -> str:
    """The section's markdown with the image link to `name` replaced by `line`."""
    link = re.compile(r"!\[[^\]\n]*\]\((?:[^)\s]*/)?" + re.escape(name) + r"\)")
    return link.sub(lambda _: line, text, count=1)
