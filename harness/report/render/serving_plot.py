"""The serving figure: latency percentiles against achieved throughput, one point per load
level with its 95% interval as an error bar, levels meeting the SLO filled, and the SLO's
bounds drawn as horizontal lines on the matching panels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.core.perf_names import PerfName
from harness.report.analysis.serving import load_of
from harness.report.render.plots import _pyplot
from harness.store.records import Record
from harness.suite.schema import SLOConfig

# panel: (perf family, axis label); the SLO bound of the family is drawn on it
PANELS = (("ttft", "TTFT"), ("tpot", "TPOT"), ("e2e", "end-to-end latency"))


def _bound(slo: SLOConfig | None, stat: str) -> float | None:
    if slo is None:
        return None
    return {"ttft": slo.ttft_ms, "tpot": slo.tpot_ms, "e2e": slo.e2e_ms}[stat]


def _series(
    ax: Any, x: list[float], levels: Sequence[Record], key: str, style: str, met: list[bool]
) -> list[float]:
    """One percentile's curve (ms): hollow markers, filled where the level meets the SLO,
    and an error bar where the level has an interval."""
    values = [r.perf.get(key) for r in levels]
    y = [v.value * 1000 if v is not None else float("nan") for v in values]
    (line,) = ax.plot(x, y, style, label=key.rsplit("_", 1)[1], markerfacecolor="none")
    color = line.get_color()
    filled = [(xi, yi) for xi, yi, ok in zip(x, y, met, strict=True) if ok]
    if filled:
        fx, fy = zip(*filled, strict=True)
        ax.plot(fx, fy, style[0], color=color)
    bars = [
        (xi, v.value * 1000, (v.value - v.ci_low) * 1000, (v.ci_high - v.value) * 1000)
        for xi, v in zip(x, values, strict=True)
        if v is not None and v.ci_low is not None and v.ci_high is not None
    ]
    if bars:
        bx, by, below, above = zip(*bars, strict=True)
        ax.errorbar(bx, by, yerr=[below, above], fmt="none", ecolor=color, capsize=2, lw=0.8)
    return y


def _panel(
    ax: Any,
    stat: str,
    name: str,
    levels: Sequence[Record],
    slo: SLOConfig | None,
    searched: float | None,
) -> None:
    # a level whose every request failed has no throughput: it is left off the x axis
    levels = [r for r in levels if PerfName.ACHIEVED_OUTPUT_TOKENS_PER_S in r.perf]
    x = [r.perf[PerfName.ACHIEVED_OUTPUT_TOKENS_PER_S].value for r in levels]
    met = [bool((m := r.perf.get(PerfName.SLO_MET)) is not None and m.value) for r in levels]
    _series(ax, x, levels, f"{stat}_p50", "o-", met)
    tail = _series(ax, x, levels, f"{stat}_p99", "s--", met)
    for xi, yi, record in zip(x, tail, levels, strict=True):
        knob, level = load_of(record)
        ax.annotate(f"{knob}={level:g}", (xi, yi), fontsize=6)
        if searched is not None and level == searched:
            ax.axvline(xi, color="grey", linestyle=":", label="search: highest passing")
    bound = _bound(slo, stat)
    if bound is not None and slo is not None:
        label = f"SLO: ≤ {bound:g} ms for ≥ {slo.attainment:.0%} of requests"
        ax.axhline(bound, color="red", linestyle="-.", linewidth=1, label=label)
    unit = "ms per output token" if stat == "tpot" else "ms"
    ax.set(xlabel="achieved output tokens/s (tok/s)", ylabel=f"{name} ({unit})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, title="filled: meets the SLO; bars: 95% CI", title_fontsize=6)


def curve_plot(
    path: Path,
    title: str,
    levels: Sequence[Record],
    searched: float | None = None,
    slo: SLOConfig | None = None,
) -> Path:
    """p50 and p99 of TTFT, TPOT and end-to-end latency (ms) against achieved output
    tokens/s, labelled by load, with 95% intervals as error bars; levels meeting the SLO are
    filled, the others hollow (the SLO frontier lies between); each panel's SLO bound is a
    horizontal line, with the attainment target in the legend; the SLO search's highest
    passing level is marked."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(PANELS), figsize=(13, 3.8), dpi=110)
    for ax, (stat, name) in zip(axes, PANELS, strict=True):
        _panel(ax, stat, name, levels, slo, searched)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
