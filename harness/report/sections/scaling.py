"""The scaling curves (quality along each variant axis, one series per ladder) and the
quality-vs-speed frontiers of each task."""

from __future__ import annotations

from collections.abc import Sequence

from harness.core.perf_names import PerfName
from harness.report.analysis import scaling as an
from harness.report.analysis.aggregate import primary_metric
from harness.report.analysis.speed import SPEED_LABELS
from harness.report.sections.format import AXIS_UNITS, axis_label, file_slug
from harness.report.sections.parts import FrontierFigure, ScalingFigure, Section
from harness.store.records import Record

BITS_NOTE = (
    "Bits per weight as stored: the base variant sits at its dtype's bits (32 for float32) "
    "even when its weights were read from a quantized file and dequantized (the default "
    "suite's SmolLM2 comes from a Q4_1 GGUF), so its quantization error is already in it. "
    "Points are not joined: different quantizers at the same bits are not steps of one knob."
)


def scaling_section(records: Sequence[Record], rel: str) -> Section:
    parts, figures = ["## Scaling curves"], []
    for axis, (_, label, log_x) in an.AXES.items():
        for task in sorted({r.task for r in records}):
            series = an.series_for(records, task, axis)
            if not series:
                continue
            first = next(r for r in records if r.task == task)
            metric = primary_metric(first)
            ladder = axis != PerfName.BITS_PER_WEIGHT  # dtypes and quant kinds are not one ladder
            figure = ScalingFigure(
                f"{file_slug(task)}_{axis}.png",
                f"{task}: {metric} vs {label}",
                axis_label(label, AXIS_UNITS.get(axis)),
                axis_label(metric, first.quality[metric].unit),
                series,
                log_x,
                connect=ladder,
            )
            figures.append(figure)
            parts.append(f"![{task} {metric} vs {label}]({rel}/{figure.name})")
            if not ladder:
                parts.append(BITS_NOTE)
    if len(parts) == 1:
        return Section("")
    return Section("\n\n".join(parts), tuple(figures))


FRONTIER_INTRO = (
    "## Pareto frontiers (quality vs speed)\n\nA variant leaves the frontier only when "
    "another is at least as good and not distinguishably slower, and either better or "
    "faster with non-overlapping speed intervals; variants marked *same kernels as base* "
    "take their base's speed interval too."
)


def frontier_section(records: Sequence[Record], rel: str) -> Section:
    parts, figures = [], []
    for task in sorted({r.task for r in records}):
        found = an.frontier(records, task)
        if found is None:
            continue
        speeds, front, metric = found
        speed = SPEED_LABELS[speeds[0].metric]
        figure = FrontierFigure(
            f"frontier_{file_slug(task)}.png",
            f"{task}: {metric} vs {speed}",
            f"{speed} (median, min..max over repeats)",
            axis_label(metric, speeds[0].record.quality[metric].unit),
            speeds,
            [s.record.quality[metric].value for s in speeds],
            front,
        )
        figures.append(figure)
        names = ", ".join(f"`{speeds[i].label}`" for i in front) or "none (no ranked speeds)"
        loose = [f"`{s.record.variant_id}`" for s in speeds if not s.ranked]
        unranked = f"; not ranked (timed once, no interval): {', '.join(loose)}" if loose else ""
        parts.append(
            f"**{task}** frontier ({metric} vs {speed}): {names}{unranked}\n\n"
            f"![frontier {task}]({rel}/{figure.name})"
        )
    if not parts:
        return Section("")
    return Section(FRONTIER_INTRO + "\n\n" + "\n\n".join(parts), tuple(figures))
