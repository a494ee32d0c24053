"""Headless matplotlib figures: scaling curves with CI error bars and fitted laws, and
quality-versus-cost scatter plots with the Pareto frontier marked."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from harness.report.analysis.fit import Fit
from harness.report.analysis.scaling import Series
from harness.report.analysis.speed import Speed
from harness.report.analysis.trend import TrendPoint
from harness.report.render.labels import name_points


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    return plt


# Figures keep a fixed right margin for the legend and the key of numbered points (tight_layout
# would resize the axes after the numbers were placed).
FIGSIZE = (8.5, 4.2)
MARGINS = {"left": 0.09, "right": 0.62, "bottom": 0.12, "top": 0.91}
Points = list[tuple[float, float, str]]  # (x, y, name) of each point to name
LEGEND_WIDTH = 42  # characters of a legend entry's line, so the legend fits the margin


def _finish(
    plt: Any, fig: Any, ax: Any, path: Path, labels: tuple[str, str, str], points: Points
) -> Path:
    title, xlabel, ylabel = labels
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    fig.subplots_adjust(**MARGINS)
    legend = None
    handles, names = ax.get_legend_handles_labels()
    if handles:  # beside the axes, where it covers no point; long entries wrap to the margin
        legend = ax.legend(
            handles,
            [textwrap.fill(n, LEGEND_WIDTH) for n in names],
            fontsize=7,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
        )
    name_points(fig, ax, points, legend)
    fig.savefig(path)
    plt.close(fig)
    return path


def positive(values: Sequence[float]) -> list[bool]:
    """Which values a log axis can place."""
    return [bool(np.isfinite(v) and v > 0) for v in values]


def _log_if_spanning(ax: Any, values: Sequence[float], axis: str) -> None:
    """Log scale when positive values span more than a factor of 20 (e.g. perplexities of
    broken variants next to healthy ones), so the healthy ones are not flattened."""
    finite = [v for v in values if np.isfinite(v)]
    if finite and min(finite) > 0 and max(finite) / min(finite) > 20:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def _draw_fit(ax: Any, fit: Fit, series: Sequence[Series]) -> None:
    """The law over the observed range (solid), its extrapolation (dotted) and its band."""
    lo = min(min(s.x) for s in series)
    hi = max(max(s.x) for s in series)
    inside, beyond = np.geomspace(lo, hi, 60), np.geomspace(hi, hi * 4, 30)
    e, a, alpha = fit.params.get("E", 0), fit.params["A"], fit.params["alpha"]
    ax.plot(
        inside,
        fit.predict(inside),
        "-",
        color="gray",
        label=f"fit: {e:.3g} + {a:.3g} N^-{alpha:.2f}",
    )
    ax.plot(beyond, fit.predict(beyond), ":", color="gray", label="extrapolated")
    both = np.concatenate([inside, beyond])
    band = fit.band(both)
    if band is not None:
        ax.fill_between(both, band[0], band[1], color="gray", alpha=0.2, label="95% band")


def scaling_plot(
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    series: Sequence[Series],
    log_x: bool,
    fit: Fit | None = None,
    connect: bool = False,
) -> Path:
    """Points with CI bars, every point numbered and named in the key; joined by a line only
    for an ordered ladder (`connect`), never across variants that are not steps of one knob.
    On a log x axis, points at or below zero are not drawn (the section says which)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=110)
    points: Points = []
    for s in series:
        keep = [i for i, ok in enumerate(positive(s.x)) if ok or not log_x]
        order = sorted(keep, key=lambda i: s.x[i])
        if not order:
            continue
        x, y = np.asarray(s.x)[order], np.asarray(s.y)[order]
        err = np.abs(np.vstack([y - np.asarray(s.low)[order], np.asarray(s.high)[order] - y]))
        style = "--" if s.simulated else "-"
        ax.errorbar(
            x, y, yerr=err, marker="o", capsize=3, label=s.label, ls=style if connect else "none"
        )
        points += zip(x.tolist(), y.tolist(), [s.names[i] for i in order], strict=True)
    if fit is not None:
        _draw_fit(ax, fit, series)
    if log_x:
        ax.set_xscale("log")
    _log_if_spanning(ax, [y for _, y, _ in points], "y")
    return _finish(plt, fig, ax, path, (title, xlabel, ylabel), points)


def frontier_plot(
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    speeds: Sequence[Speed],
    quality: Sequence[float],
    front: Sequence[int],
) -> Path:
    """Every ranked variant with its speed interval as a horizontal bar, variants without an
    interval as hollow grey points (not ranked), the frontier as a line, every point named
    in the margin."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=110)
    x = [s.value for s in speeds]
    ranked = [i for i, s in enumerate(speeds) if s.ranked]
    loose = [i for i, s in enumerate(speeds) if not s.ranked]
    if ranked:
        lows = [speeds[i].value - speeds[i].low for i in ranked]
        highs = [speeds[i].high - speeds[i].value for i in ranked]
        ax.errorbar(
            [x[i] for i in ranked],
            [quality[i] for i in ranked],
            xerr=np.abs(np.vstack([lows, highs])),
            fmt="o",
            color="tab:blue",
            capsize=3,
            zorder=2,
            label="median, min..max over timed windows",
        )
    if loose:
        ax.scatter(
            [x[i] for i in loose],
            [quality[i] for i in loose],
            facecolors="none",
            edgecolors="grey",
            zorder=2,
            label="timed once: no interval, not ranked",
        )
    _log_if_spanning(ax, quality, "y")
    _log_if_spanning(ax, x, "x")
    ordered = sorted(front, key=lambda i: x[i])
    ax.plot(
        [x[i] for i in ordered],
        [quality[i] for i in ordered],
        "-" if len(ordered) > 1 else "D",
        color="tab:red",
        label="Pareto frontier",
        zorder=1,
    )
    points = list(zip(x, quality, [s.record.variant_id for s in speeds], strict=True))
    return _finish(plt, fig, ax, path, (title, xlabel, ylabel), points)


def trend_plot(
    path: Path,
    title: str,
    ylabel: str,
    points: Sequence[TrendPoint],
    line: tuple[date, float, float] | None,  # (t0, log2 slope per month, intercept)
) -> Path:
    """Efficiency against release date on a log2 axis: measured points filled, external
    ones hollow grey, the fitted exponential as a line over the measured span. A point of
    zero efficiency has no place on the log axis and is not drawn (the section says so)."""
    from datetime import timedelta

    import matplotlib.dates

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=110)
    drawn = [
        p for p, ok in zip(points, positive([p.efficiency for p in points]), strict=True) if ok
    ]
    for measured, style in ((True, {"color": "C0"}), (False, {"mfc": "none", "color": "grey"})):
        group = [p for p in drawn if p.measured is measured]
        if group:
            label = "measured" if measured else "external (not fitted)"
            ax.plot(
                [p.released for p in group],
                [p.efficiency for p in group],
                "o",
                label=label,
                **style,
            )
    if line is not None:
        t0, slope, intercept = line
        span = [p.released for p in drawn if p.measured]
        days = np.linspace(0, (max(span) - t0).days, 50)
        months = days / (365.25 / 12)
        ax.plot(
            [t0 + timedelta(days=float(d)) for d in days],
            2 ** (intercept + slope * months),
            "-",
            color="C1",
            label=f"fit: x2 every {1 / slope:.1f} months" if slope > 0 else "fit",
        )
    ax.set_yscale("log", base=2)
    # a few dated ticks, written once each (a tick per month printed dates over each other)
    mdates: Any = matplotlib.dates  # its date classes are not typed
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    labelled = [(_date_number(p.released), p.efficiency, p.name) for p in drawn]
    return _finish(plt, fig, ax, path, (title, "release date", ylabel), labelled)


def _date_number(day: date) -> float:
    """A date as matplotlib places it: days since its default epoch, 1970-01-01."""
    return float((day - date(1970, 1, 1)).days)
