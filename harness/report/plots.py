"""Headless matplotlib figures: scaling curves with CI error bars and fitted laws, and
quality-versus-cost scatter plots with the Pareto frontier marked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.report.fit import Fit


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


def scaling_plot(
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    series: Sequence[Series],
    log_x: bool,
    fit: Fit | None = None,
) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for s in series:
        order = np.argsort(s.x)
        x, y = np.asarray(s.x)[order], np.asarray(s.y)[order]
        err = np.abs(np.vstack([y - np.asarray(s.low)[order], np.asarray(s.high)[order] - y]))
        style = "--" if "simulated" in s.label else "-"  # simulated ladders drawn apart
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=s.label, linestyle=style)
    if fit is not None:
        xs = np.geomspace(min(min(s.x) for s in series), max(max(s.x) for s in series) * 4, 100)
        e, a, alpha = fit.params.get("E", 0), fit.params["A"], fit.params["alpha"]
        label = f"fit: {e:.3g} + {a:.3g} N^-{alpha:.2f}"
        ax.plot(xs, fit.predict(xs), "--", color="gray", label=label)
        if "E" in fit.params:
            ax.axhline(fit.params["E"], color="gray", lw=0.8, ls=":", label="fitted limit E")
    if log_x:
        ax.set_xscale("log")
    return _finish(plt, fig, ax, path, (title, xlabel, ylabel))


def frontier_plot(
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    cost: Sequence[float],
    quality: Sequence[float],
    names: Sequence[str],
    front: Sequence[int],
) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    ax.scatter(cost, quality, color="tab:blue", zorder=2)
    for i in front:  # label the frontier only: the rest would overlap into noise
        ax.annotate(
            names[i], (cost[i], quality[i]), fontsize=6, xytext=(3, 3), textcoords="offset points"
        )
    positive = [q for q in quality if q > 0]
    if len(positive) == len(quality) and max(positive) / min(positive) > 20:
        ax.set_yscale("log")  # e.g. perplexities of broken variants next to healthy ones
    fx = [cost[i] for i in front]
    fy = [quality[i] for i in front]
    ax.plot(fx, fy, "-", color="tab:red", label="Pareto frontier", zorder=1)
    return _finish(plt, fig, ax, path, (title, xlabel, ylabel))
