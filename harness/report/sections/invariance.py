"""The report's invariance audit: per task and model family, which configurations answer as
the base does, the flip matrix between every two of them, and the drift of log-likelihoods
against the noise floor (the base run again), drawn where people would rather look."""

from __future__ import annotations

from collections.abc import Sequence

from harness.report.analysis.audit import PairAudit, TaskAudit
from harness.report.sections.format import file_slug, fmt_number, table
from harness.report.sections.parts import AuditCsv, AuditFigure, File, Section

INTRO = (
    "## Invariance audit\n\nConfigurations that should not change results (batch size, engine "
    "on the same weights, dtype, a repeat), each compared sample by sample with its family's "
    "base. A *flip* is a sample answered differently (a choice task's predicted label, a "
    "generation's text); *drift* is the largest |log-likelihood difference| over a question's "
    "choices, or of a perplexity text's mean per token. The noise floor is the base loaded and run "
    "again. Each configuration is tested against it, one-sided and paired by sample (an exact "
    "sign test on flips, a Wilcoxon signed-rank test on drift; Holm-adjusted over the task's "
    "comparisons). It *exceeds* the floor when its flips do, or when its drift does by more "
    "than the tolerance."
)
HEADERS = [
    "configuration",
    "n",
    "flips (correct→wrong / wrong→correct)",
    "drift p50",
    "drift p99",
    "drift max",
    "p (flips)",
    "p (drift)",
    "verdict",
]


def _p(value: float | None) -> str:
    return "—" if value is None else f"{value:.2g}"


def _flips(pair: PairAudit) -> str:
    if pair.flips is None:
        return "— (no discrete answer)"
    if pair.correct_to_wrong is None:
        return str(pair.flips)
    return f"{pair.flips} ({pair.correct_to_wrong} / {pair.wrong_to_correct})"


def _verdict(pair: PairAudit) -> str:
    if pair.noise_floor:
        return pair.reason
    return ("**exceeds the noise floor**: " if pair.exceeds else "invariant: ") + pair.reason


def _row(pair: PairAudit) -> list[str]:
    drift = (pair.drift_median, pair.drift_p99, pair.drift_max)
    return [
        f"`{pair.config}`",
        str(pair.n),
        _flips(pair),
        *["—" if d is None else fmt_number(d) for d in drift],
        _p(pair.p_flips),
        _p(pair.p_drift),
        _verdict(pair),
    ]


def _matrix(audit: TaskAudit) -> str:
    if audit.flip_matrix is None:
        return ""
    names = [f"`{c}`" for c in audit.configs]
    rows = [[names[i], *map(str, line)] for i, line in enumerate(audit.flip_matrix)]
    return "Flip matrix (samples answered differently, every two configurations):\n\n" + table(
        ["", *names], rows
    )


def _figure(audit: TaskAudit) -> AuditFigure | None:
    """The flip matrix beside the drift of each configuration, where there is either."""
    if audit.flip_matrix is None and not any(p.drift_values for p in audit.pairs):
        return None
    return AuditFigure(file_slug(f"{audit.task}_{audit.base}") + "_invariance.png", audit)


def _task_part(audit: TaskAudit, rel: str) -> tuple[str, AuditFigure | None]:
    exceeding = [p.config for p in audit.pairs if p.exceeds]
    verdict = (
        f"exceed the noise floor: {', '.join(f'`{c}`' for c in exceeding)}"
        if exceeding
        else "every configuration is within the noise floor"
    )
    head = (
        f"### {audit.task}: base `{audit.base}`\n\nDrift in {audit.drift_unit}; tolerance "
        f"{audit.tolerance:g}, alpha {audit.alpha:g}. Verdict: {verdict}."
    )
    parts = [head, table(HEADERS, [_row(p) for p in audit.pairs]), _matrix(audit)]
    figure = _figure(audit)
    link = f"![{audit.task} invariance]({rel}/{figure.name})" if figure else ""
    return "\n\n".join(p for p in (*parts, link) if p), figure


def invariance_section(audits: Sequence[TaskAudit], rel: str) -> Section:
    if not audits:
        return Section("")
    csv = AuditCsv("invariance.csv", audits)
    link = f"The audit as a table, one row per configuration: [{csv.name}]({rel}/{csv.name})."
    parts = [_task_part(a, rel) for a in audits]
    files: list[File] = [csv, *(f for _, f in parts if f is not None)]
    return Section("\n\n".join([INTRO, link, *(text for text, _ in parts)]), tuple(files))
