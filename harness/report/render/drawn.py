"""Each section with its files written: the section's markdown (sections/) and the figures
and tables it links, drawn into the figure folder in the order the text links them. The
functions here are the sections as the document uses them, one call per section."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.report.analysis.audit import TaskAudit
from harness.report.analysis.trend import TrendOptions
from harness.report.render.audit_files import audit_plot, write_audit_csv
from harness.report.render.drawable import refusal, replace_link
from harness.report.render.plots import frontier_plot, scaling_plot, trend_plot
from harness.report.render.serving_plot import curve_plot
from harness.report.sections import divergence, invariance, limits, scaling, serving, trend
from harness.report.sections.parts import (
    AuditCsv,
    AuditFigure,
    File,
    FrontierFigure,
    ScalingFigure,
    Section,
    ServingFigure,
    TrendFigure,
)
from harness.run.slo_search import SearchOutcome
from harness.store.records import Record
from harness.suite.schema import SLOConfig

LOG = logging.getLogger(__name__)


def write_file(file: File, fig_dir: Path) -> Path:
    """One file a section links, written under `fig_dir` by its name. What the plotting
    libraries warn while drawing (a log axis with nothing to place, a font fallback) goes to
    the debug log, never to the user's terminal: a figure that would warn about missing data
    is refused before it is drawn (harness.report.render.drawable)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = _write(file, fig_dir / file.name)
    for warning in caught:
        LOG.debug("while drawing %s: %s", file.name, warning.message)
    return path


def _write(file: File, path: Path) -> Path:
    match file:
        case ScalingFigure():
            scaling_plot(
                path,
                file.title,
                file.xlabel,
                file.ylabel,
                file.series,
                file.log_x,
                file.fit,
                file.connect,
            )
        case FrontierFigure():
            frontier_plot(
                path, file.title, file.xlabel, file.ylabel, file.speeds, file.quality, file.front
            )
        case TrendFigure():
            trend_plot(path, file.title, file.ylabel, file.points, file.line)
        case ServingFigure():
            curve_plot(path, file.title, file.levels, file.searched, file.slo)
        case AuditFigure():
            audit_plot(path, file.audit)
        case AuditCsv():
            write_audit_csv(file.audits, path)
    return path


def draw(section: Section | str, fig_dir: Path) -> str:
    """The section's markdown, once every file it links is written under `fig_dir`; a
    figure without information is not drawn, and its link becomes the line saying why."""
    if isinstance(section, str):
        return section
    text = section.text
    drawn = []
    for file in section.files:
        refused = refusal(file)
        if refused is None:
            drawn.append(file)
        else:
            text = replace_link(text, file.name, refused.line)
    if drawn:
        fig_dir.mkdir(parents=True, exist_ok=True)
    for file in drawn:
        write_file(file, fig_dir)
    return text


def divergence_section(records: Sequence[Record], fig_dir: Path, rel: str) -> str:
    return draw(divergence.divergence_section(records, rel), fig_dir)


def invariance_section(audits: Sequence[TaskAudit], fig_dir: Path, rel: str) -> str:
    return draw(invariance.invariance_section(audits, rel), fig_dir)


def scaling_section(records: Sequence[Record], fig_dir: Path, rel: str) -> str:
    return draw(scaling.scaling_section(records, rel), fig_dir)


def fits_section(records: Sequence[Record], fig_dir: Path, rel: str, seed: int) -> str:
    return draw(limits.fits_section(records, rel, seed), fig_dir)


def trend_section(
    records: Sequence[Record], fig_dir: Path, rel: str, seed: int, options: TrendOptions
) -> str:
    return draw(trend.trend_section(records, rel, seed, options), fig_dir)


def frontier_section(records: Sequence[Record], fig_dir: Path, rel: str) -> str:
    return draw(scaling.frontier_section(records, rel), fig_dir)


def serving_section(
    records: Sequence[Record],
    fig_dir: Path,
    rel: str,
    searches: Sequence[SearchOutcome] = (),
    slos: Mapping[str, SLOConfig] | None = None,
) -> str:
    return draw(serving.serving_section(records, rel, searches, slos), fig_dir)
