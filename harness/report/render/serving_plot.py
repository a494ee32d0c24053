"""The serving figure: latency percentiles against achieved throughput, one point per load
level, levels meeting the SLO filled."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.core.perf_names import PerfName
from harness.report.analysis.serving import load_of
from harness.report.render.plots import _pyplot
from harness.store.records import Record


def curve_plot(
    path: Path, title: str, levels: Sequence[Record], searched: float | None = None
) -> Path:
    """p50 and p99 TTFT and TPOT (ms) against achieved output tokens/s, labelled by load;
    levels meeting the SLO are filled, the others hollow (the SLO frontier lies between),
    and the SLO search's highest passing level is marked."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), dpi=110)
    x = [r.perf[PerfName.ACHIEVED_OUTPUT_TOKENS_PER_S].value for r in levels]
    met = [bool((m := r.perf.get(PerfName.SLO_MET)) is not None and m.value) for r in levels]
    for ax, stat in zip(axes, ("ttft", "tpot"), strict=True):
        for pct, style in (("p50", "o-"), ("p99", "s--")):
            key = f"{stat}_{pct}"
            y = [r.perf[key].value * 1000 if key in r.perf else float("nan") for r in levels]
            (line,) = ax.plot(x, y, style, label=pct, markerfacecolor="none")
            filled = [(xi, yi) for xi, yi, ok in zip(x, y, met, strict=True) if ok]
            if filled:
                fx, fy = zip(*filled, strict=True)
                ax.plot(fx, fy, style[0], color=line.get_color())
            for xi, yi, record in zip(x, y, levels, strict=True):
                knob, level = load_of(record)
                if pct == "p99":
                    ax.annotate(f"{knob}={level:g}", (xi, yi), fontsize=6)
                if searched is not None and level == searched and pct == "p50":
                    ax.axvline(xi, color="grey", linestyle=":", label="search: highest passing")
        ax.set(xlabel="achieved output tokens/s", ylabel=f"{stat.upper()} (ms)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="filled: meets the SLO", title_fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
