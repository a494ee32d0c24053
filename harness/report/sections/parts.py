"""A section as the renderer receives it: its markdown, and the files that markdown links to
(figures, the audit's CSV) described as data. render/ writes each file under the figure
folder by its `name`; a section never draws, so it never needs matplotlib or render/."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from harness.report.analysis.audit import TaskAudit
from harness.report.analysis.fit import Fit
from harness.report.analysis.scaling import Series
from harness.report.analysis.speed import Speed
from harness.report.analysis.trend import TrendPoint
from harness.store.records import Record
from harness.suite.schema import SLOConfig


@dataclass(frozen=True)
class ScalingFigure:
    """Points with CI bars along an axis, with a fitted law where given (plots.scaling_plot)."""

    name: str
    title: str
    xlabel: str
    ylabel: str
    series: Sequence[Series]
    log_x: bool
    fit: Fit | None = None
    connect: bool = False


@dataclass(frozen=True)
class FrontierFigure:
    """Quality against speed with the interval-aware frontier (plots.frontier_plot)."""

    name: str
    title: str
    xlabel: str
    ylabel: str
    speeds: Sequence[Speed]
    quality: Sequence[float]
    front: Sequence[int]


@dataclass(frozen=True)
class TrendFigure:
    """Efficiency against release date, with the fitted doubling line (plots.trend_plot)."""

    name: str
    title: str
    ylabel: str
    points: Sequence[TrendPoint]
    line: tuple[date, float, float] | None  # (t0, log2 slope per month, intercept)


@dataclass(frozen=True)
class ServingFigure:
    """Latency against achieved throughput, one point per load level."""

    name: str
    title: str
    levels: Sequence[Record]
    searched: float | None  # the SLO search's highest passing level, marked
    slo: SLOConfig | None = None  # the run's SLO: its bounds drawn as lines


@dataclass(frozen=True)
class AuditFigure:
    """One task's flip matrix beside the drift of each configuration."""

    name: str
    audit: TaskAudit


@dataclass(frozen=True)
class AuditCsv:
    """The invariance audit in tidy form: one row per (task, base, configuration)."""

    name: str
    audits: Sequence[TaskAudit]


File = ScalingFigure | FrontierFigure | TrendFigure | ServingFigure | AuditFigure | AuditCsv


@dataclass(frozen=True)
class Section:
    text: str  # the section's markdown; "" when it has nothing to say
    files: tuple[File, ...] = ()  # what the text links to, in the order it links them
