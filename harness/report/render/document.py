"""The markdown report: what to deploy first, then the summary, tables, scaling curves, fits,
frontiers and the reproducibility footer. Figures are PNGs in a folder beside the markdown."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.report.analysis.audit import TaskAudit
from harness.report.analysis.choices import TOLERANCE
from harness.report.analysis.serving import slo_by_run
from harness.report.analysis.trend import TrendOptions
from harness.report.analysis.versus import SampleScores, versus_base
from harness.report.render.drawn import (
    divergence_section,
    fits_section,
    frontier_section,
    invariance_section,
    scaling_section,
    serving_section,
    trend_section,
)
from harness.report.sections.answer import answer_section
from harness.report.sections.deployer import latency_section, vs_base_table
from harness.report.sections.footer import footer
from harness.report.sections.machine import machine_lines
from harness.report.sections.summary import summary
from harness.report.sections.tables import performance_section, quality_section
from harness.run.slo_search import SearchOutcome
from harness.store.records import Record
from harness.store.runfiles import Manifest


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
        f"# limitbench report: {title}\n\n{len(records)} records.\n\n"
        + machine_lines(manifests, records),
        answer_section(records, found, tolerance),
        summary(records),
        vs_base_table(found),
        divergence_section(records, fig_dir, rel),
        invariance_section(audits, fig_dir, rel),
        quality_section(records),
        performance_section(records),
        latency_section(records),
        scaling_section(records, fig_dir, rel),
        fits_section(records, fig_dir, rel, seed),
        trend_section(records, fig_dir, rel, seed, trend or TrendOptions()),
        frontier_section(records, fig_dir, rel),
        serving_section(records, fig_dir, rel, searches, slo_by_run(manifests)),
        footer(manifests, command),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"
