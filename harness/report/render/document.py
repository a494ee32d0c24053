"""The markdown report: what to deploy first, then the summary, tables, scaling curves, fits,
frontiers and the reproducibility footer. Figures are PNGs in a folder beside the markdown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from harness.core.perf_names import PerfName
from harness.report import analysis as an
from harness.report.aggregate import primary_metric
from harness.report.answer import TOLERANCE, answer_section
from harness.report.audit import TaskAudit
from harness.report.deployer import latency_section, vs_base_table
from harness.report.divergence import divergence_section
from harness.report.invariance import invariance_section
from harness.report.limits import fits_section
from harness.report.markdown import file_slug, perf_table, task_tables
from harness.report.plots import frontier_plot, scaling_plot
from harness.report.serving import serving_section
from harness.report.speed import SPEED_LABELS
from harness.report.summary import summary
from harness.report.trend_section import TrendOptions, trend_section
from harness.report.versus import SampleScores, versus_base
from harness.run.slo_search import SearchOutcome
from harness.store.records import Record
from harness.store.runfiles import Manifest

BITS_NOTE = (
    "Bits per weight as stored: the base variant sits at its dtype's bits (32 for float32) "
    "even when its weights were read from a quantized file and dequantized (the default "
    "suite's SmolLM2 comes from a Q4_1 GGUF), so its quantization error is already in it. "
    "Points are not joined: different quantizers at the same bits are not steps of one knob."
)
PERF_INTRO = (
    "Medians over the timed repeats with their min..max in brackets; input (prompt or "
    "scored) and output (generated) tokens per second are different rates and never "
    "compared with each other.\n\n"
)


def scaling_section(records: Sequence[Record], fig_dir: Path, rel: str) -> str:
    parts = ["## Scaling curves"]
    for axis, (_, label, log_x) in an.AXES.items():
        for task in sorted({r.task for r in records}):
            series = an.series_for(records, task, axis)
            if not series:
                continue
            metric = primary_metric(next(r for r in records if r.task == task))
            name = f"{file_slug(task)}_{axis}.png"
            ladder = axis != PerfName.BITS_PER_WEIGHT  # dtypes and quant kinds are not one ladder
            scaling_plot(
                fig_dir / name,
                f"{task}: {metric} vs {label}",
                label,
                metric,
                series,
                log_x,
                connect=ladder,
            )
            parts.append(f"![{task} {metric} vs {label}]({rel}/{name})")
            if not ladder:
                parts.append(BITS_NOTE)
    return "\n\n".join(parts) if len(parts) > 1 else ""


def frontier_section(records: Sequence[Record], fig_dir: Path, rel: str) -> str:
    parts = []
    for task in sorted({r.task for r in records}):
        found = an.frontier(records, task)
        if found is None:
            continue
        speeds, front, metric = found
        name = f"frontier_{file_slug(task)}.png"
        frontier_plot(
            fig_dir / name,
            f"{task}: {metric} vs {SPEED_LABELS[speeds[0].metric]}",
            f"{SPEED_LABELS[speeds[0].metric]} (median, min..max over repeats)",
            metric,
            speeds,
            [s.record.quality[metric].value for s in speeds],
            front,
        )
        names = ", ".join(f"`{speeds[i].label}`" for i in front) or "none (no ranked speeds)"
        loose = [f"`{s.record.variant_id}`" for s in speeds if not s.ranked]
        unranked = f"; not ranked (timed once, no interval): {', '.join(loose)}" if loose else ""
        axes = f"{metric} vs {SPEED_LABELS[speeds[0].metric]}"
        parts.append(
            f"**{task}** frontier ({axes}): {names}{unranked}\n\n![frontier {task}]({rel}/{name})"
        )
    intro = (
        "## Pareto frontiers (quality vs speed)\n\nA variant leaves the frontier only when "
        "another is at least as good and not distinguishably slower, and either better or "
        "faster with non-overlapping speed intervals; variants marked *same kernels as base* "
        "take their base's speed interval too."
    )
    return intro + "\n\n" + "\n\n".join(parts) if parts else ""


def footer(manifests: Sequence[Manifest], command: str) -> str:
    lines = ["## Reproducibility", ""]
    for m in manifests:
        lines.append(
            f"- run `{m.run_id}` of suite `{m.suite}` (sha256 "
            f"`{m.suite_sha256[:16]}`), made by `{m.command}`"
        )
    env = manifests[0].env.model_dump(mode="json")
    lines.append(f"- report made by `{command}`")
    lines.append(f"- environment: `{json.dumps(env, sort_keys=True)}`")
    return "\n".join(lines)


def render(
    manifests: Sequence[Manifest],
    records: Sequence[Record],
    fig_dir: Path,
    rel: str,
    command: str,
    seed: int = 1234,
    samples: SampleScores | None = None,
    tolerance: float = TOLERANCE,
    trend: TrendOptions | None = None,
    audits: Sequence[TaskAudit] = (),
    searches: Sequence[SearchOutcome] = (),
) -> str:
    """The deployer's answer first (what to ship, what it costs), then the per-task summary,
    then the tables and figures it is read from."""
    fig_dir.mkdir(parents=True, exist_ok=True)
    title = " + ".join(f"{m.suite}/{m.run_id}" for m in manifests)
    found = versus_base(records, samples or {}, seed)
    sections = [
        f"# limitbench report: {title}\n\n{len(records)} records.",
        answer_section(records, found, tolerance),
        summary(records),
        vs_base_table(found),
        divergence_section(records, fig_dir, rel),
        invariance_section(audits, fig_dir, rel),
        "## Quality by task\n\n" + task_tables(records),
        "## Performance\n\n" + PERF_INTRO + perf_table(records),
        latency_section(records),
        scaling_section(records, fig_dir, rel),
        fits_section(records, fig_dir, rel, seed),
        trend_section(records, fig_dir, rel, seed, trend or TrendOptions()),
        frontier_section(records, fig_dir, rel),
        serving_section(records, fig_dir, rel, searches),
        footer(manifests, command),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"
