"""Headless matplotlib figures: scaling curves with CI error bars and fitted laws, and
quality-versus-cost scatter plots with the Pareto frontier marked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.report.fit import Fit
from harness.report.speed import Speed


@dataclass(frozen=True)
class Series:
    label: str
    x: list[float]
    y: list[float]
    low: list[float]
    high: list[float]
    names: list[str]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    return plt


def _finish(plt: Any, fig: Any, ax: Any, path: Path, labels: tuple[str, str, str]) -> Path:
    title, xlabel, ylabel = labels
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _log_if_spanning(ax: Any, values: Sequence[float], axis: str) -> None:
    """Log scale when positive values span more than a factor of 20 (e.g. perplexities of
    broken variants next to healthy ones), so the healthy ones are not flattened."""
    finite = [v for v in values if np.isfinite(v)]
    if finite and min(finite) > 0 and max(finite) / min(finite) > 20:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def _label_points(ax: Any, xs: Sequence[float], ys: Sequence[float], names: Sequence[str]) -> None:
    # staggered offsets, so neighbours' labels do not print over each other
    for i, (x, y, name) in enumerate(zip(xs, ys, names, strict=True)):
        offset = (3, 3 + 8 * (i % 3))
        ax.annotate(name, (x, y), fontsize=6, xytext=offset, textcoords="offset points")


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
    """Points with CI bars, every point labelled; joined by a line only for an ordered
    ladder (`connect`), never across variants that are not steps of one knob."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for s in series:
        order = np.argsort(s.x)
        x, y = np.asarray(s.x)[order], np.asarray(s.y)[order]
        err = np.abs(np.vstack([y - np.asarray(s.low)[order], np.asarray(s.high)[order] - y]))
        style = "--" if "simulated" in s.label else "-"  # simulated ladders drawn apart
        ax.errorbar(
            x, y, yerr=err, marker="o", capsize=3, label=s.label, ls=style if connect else "none"
        )
        _label_points(ax, list(x), list(y), [s.names[i] for i in order])
    if fit is not None:
        _draw_fit(ax, fit, series)
    if log_x:
        ax.set_xscale("log")
    _log_if_spanning(ax, [v for s in series for v in s.y], "y")
    return _finish(plt, fig, ax, path, (title, xlabel, ylabel))


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
    interval as hollow grey points (not ranked), the frontier as a line, every point
    labelled."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
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
    _label_points(ax, x, list(quality), [s.record.variant_id for s in speeds])
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
    return _finish(plt, fig, ax, path, (title, xlabel, ylabel))
