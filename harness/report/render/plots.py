"""Headless matplotlib figures: scaling curves with CI error bars and fitted laws, and
quality-versus-cost scatter plots with the Pareto frontier marked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from harness.report.analysis.fit import Fit
from harness.report.analysis.scaling import Series
from harness.report.analysis.speed import Speed
from harness.report.analysis.trend import TrendPoint


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    return plt


# Labelled plots keep a fixed right margin for the column of point names (tight_layout would
# resize the axes after the names were spaced, and squeeze them back together).
FIGSIZE = (8.5, 4.2)
MARGINS = {"left": 0.09, "right": 0.62, "bottom": 0.12, "top": 0.91}
LABEL_FONT = 6.0  # points
LABEL_LINE = 1.4  # label pitch, in font heights
Points = list[tuple[float, float, str]]  # (x, y, name) of each point to name


def _finish(
    plt: Any, fig: Any, ax: Any, path: Path, labels: tuple[str, str, str], points: Points
) -> Path:
    title, xlabel, ylabel = labels
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.subplots_adjust(**MARGINS)
    label_points(ax, points)
    fig.savefig(path)
    plt.close(fig)
    return path


def spread(wanted: Sequence[float], gap: float) -> list[float]:
    """Positions in [0, 1] for labels that want to sit at `wanted`: same order, at least
    `gap` apart (less only when that many cannot fit), each as near its wish as that allows."""
    n = len(wanted)
    if n == 0:
        return []
    gap = min(gap, 1 / (n - 1)) if n > 1 else gap
    order = sorted(range(n), key=lambda i: wanted[i])
    pos = [min(max(wanted[i], 0.0), 1.0) for i in order]
    for k in range(1, n):  # push up from the bottom
        pos[k] = max(pos[k], pos[k - 1] + gap)
    pos[-1] = min(pos[-1], 1.0)
    for k in range(n - 2, -1, -1):  # then down from the top
        pos[k] = min(pos[k], pos[k + 1] - gap)
    out = [0.0] * n
    for k, i in enumerate(order):
        out[i] = pos[k]
    return out


def label_points(ax: Any, points: Points) -> list[Any]:
    """Each point's name in a column right of the axes, in the points' vertical order and a
    line apart, joined to its point by a thin leader: names never print over each other,
    however close the points (eight variants at one bit width used to). Call it once the
    axes' scales and position are final: it maps the points through them."""
    shown = [(x, y, n) for x, y, n in points if np.isfinite(x) and np.isfinite(y)]
    if not shown:
        return []
    ax.autoscale_view()
    xy = ax.transData.transform([(x, y) for x, y, _ in shown])
    frac = ax.transAxes.inverted().transform(xy)[:, 1]
    height = ax.get_position().height * ax.figure.get_figheight() * 72  # in points
    places = spread([float(f) for f in frac], LABEL_FONT * LABEL_LINE / height)
    leader = {"arrowstyle": "-", "lw": 0.4, "color": "0.55", "shrinkA": 1, "shrinkB": 2}
    return [
        ax.annotate(
            name,
            (x, y),
            xytext=(1.02, place),
            textcoords="axes fraction",
            fontsize=LABEL_FONT,
            va="center",
            annotation_clip=False,
            arrowprops=leader,
        )
        for (x, y, name), place in zip(shown, places, strict=True)
    ]


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
    """Points with CI bars, every point named in the margin; joined by a line only for an
    ordered ladder (`connect`), never across variants that are not steps of one knob."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=110)
    points: Points = []
    for s in series:
        order = np.argsort(s.x)
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
    _log_if_spanning(ax, [v for s in series for v in s.y], "y")
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
    ones hollow grey, the fitted exponential as a line over the measured span."""
    from datetime import timedelta

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=110)
    labelled: Points = []
    for measured, style in ((True, {"color": "C0"}), (False, {"mfc": "none", "color": "grey"})):
        group = [p for p in points if p.measured is measured]
        if group:
            label = "measured" if measured else "external (not fitted)"
            ax.plot(
                [p.released for p in group],
                [p.efficiency for p in group],
                "o",
                label=label,
                **style,
            )
    for p in points:
        labelled.append((_date_number(p.released), p.efficiency, p.name))
    if line is not None:
        t0, slope, intercept = line
        span = [p.released for p in points if p.measured]
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
    return _finish(plt, fig, ax, path, (title, "release date", ylabel), labelled)


def _date_number(day: date) -> float:
    """A date as matplotlib places it: days since its default epoch, 1970-01-01."""
    return float((day - date(1970, 1, 1)).days)
