"""Fits along a size axis. Ladders of genuinely different models (one base per model) are
fitted as scaling laws and may speak of a limit; a ladder of one model's depth or sparsity
is a degradation curve: the law is drawn for its shape, never called the limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.report.analysis import scaling as an
from harness.report.analysis.fit import Fit
from harness.report.analysis.scaling import Series
from harness.report.sections.format import AXIS_UNITS, axis_label, file_slug, fmt_number, table
from harness.report.sections.hardware import hardware_section
from harness.report.sections.parts import ScalingFigure, Section
from harness.store.records import Record


def _ci(fit: Fit, key: str, digits: str = "") -> str:
    value = fit.params[key]
    low, high = fit.ci.get(key, (None, None))
    text = f"{value:{digits}}" if digits else fmt_number(value)
    if low is None or high is None:
        return f"{text} (no interval: too few resamples with >= 4 sizes)"
    return (
        f"{text} [{low:{digits}}, {high:{digits}}]"
        if digits
        else (f"{text} [{fmt_number(low)}, {fmt_number(high)}]")
    )


def _fit_cells(row: an.FitRow) -> list[str]:
    head = [row.task, row.model, row.target]
    if not isinstance(row.result, Fit):
        return [*head, "not fitted", "—", str(len(set(row.series.x))), "—", row.result.reason]
    fit = row.result
    n_star = fit.size_within(an.FIT_MARGIN) if row.kind == "scaling law" else None
    return [
        *head,
        f"E = {_ci(fit, 'E')}; alpha = {_ci(fit, 'alpha', '.3f')}",
        fmt_number(fit.params["A"]),
        str(fit.n_points),
        "—" if fit.heldout_rel_error is None else f"{fit.heldout_rel_error * 100:.1f}%",
        "—" if n_star is None else f"N within {an.FIT_MARGIN:.0%} of E: {n_star:.3e}",
    ]


HEADERS = ["task", "ladder", "fitted", "law [95% CI]", "A", "points", "held-out error", "note"]
INTROS = {
    "scaling law": (
        "## Limits\n\nSaturating power law L(N) = E + A·N^-alpha across different models "
        "(each model's unmodified base), fitted in log space with a robust loss. It needs "
        "at least 5 distinct sizes; CIs come from bootstrap resamples keeping at least 4. E "
        "is the limit the family approaches."
    ),
    "degradation curve": (
        "## Degradation curves\n\nOne model with layers removed: how quality degrades as "
        "depth is cut. The same law is fitted for its shape only: this is not a scaling "
        "law, and its E is not a limit of anything."
    ),
}


def fits_section(records: Sequence[Record], rel: str, seed: int) -> Section:
    rows = an.size_fits(records, seed)
    parts, figures = [], []
    for kind, intro in INTROS.items():
        mine = [r for r in rows if r.kind == kind]
        if not mine:
            continue
        links = []
        for row in mine:
            if isinstance(row.result, Fit):
                figure = ScalingFigure(
                    f"fit_{file_slug(row.task)}_{file_slug(row.model)}.png",
                    f"{row.task}: {row.target} vs parameters ({kind})",
                    axis_label("effective parameters", AXIS_UNITS["n_params"]),
                    axis_label(row.target, _unit(records, row)),
                    [_target_series(row)],
                    True,
                    row.result,
                    connect=True,
                )
                figures.append(figure)
                links.append(f"![fit {row.task} {row.model}]({rel}/{figure.name})")
        parts.append("\n\n".join([intro, table(HEADERS, [_fit_cells(r) for r in mine]), *links]))
    parts.append(hardware_section(records))
    return Section("\n\n".join(p for p in parts if p), tuple(figures))


def _unit(records: Sequence[Record], row: an.FitRow) -> str | None:
    """The unit of the fitted metric (1 - a fraction is a fraction too)."""
    metric = row.target.removeprefix("1 - ")
    names = set(row.series.names)
    found = (r for r in records if r.task == row.task and names & {r.variant_id, r.model})
    record = next(found, None)
    value = record.quality.get(metric) if record is not None else None
    return value.unit if value is not None else None


def _target_series(row: an.FitRow) -> Series:
    if not row.target.startswith("1 - "):
        return row.series
    s = row.series
    return type(s)(
        s.label,
        s.x,
        [1 - y for y in s.y],
        [1 - h for h in s.high],
        [1 - lo for lo in s.low],
        s.names,
    )
