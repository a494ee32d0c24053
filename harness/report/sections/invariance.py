"""The report's invariance audit: per task and model family, which configurations answer as
the base does, the flip matrix between every two of them, and the drift of log-likelihoods
against the noise floor (the base run again), drawn where people would rather look."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.report.audit import PairAudit, TaskAudit, audit_run
from harness.report.audit_signals import Rows
from harness.report.markdown import file_slug, fmt_number, table
from harness.report.plots import _pyplot
from harness.store.records import Record, RunStore
from harness.store.runfiles import Manifest, SampleRow
from harness.suite.schema import InvarianceConfig

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


def audit_config(manifests: Sequence[Manifest]) -> InvarianceConfig | None:
    """The first run's audit settings, or None when no run asked for an audit."""
    for manifest in manifests:
        given = manifest.suite_config.get("invariance")
        if isinstance(given, dict):
            config = InvarianceConfig.model_validate(given)  # written validated by the run
            if config.enabled:
                return config
    return None


def audited_rows(dirs: Sequence[Path], records: Sequence[Record]) -> dict[tuple[str, str], Rows]:
    """The stored rows of every audited unit (answers and log-likelihoods live there)."""
    wanted = {r.unit_key for r in records if r.audit_base is not None}
    out: dict[tuple[str, str], dict[str, SampleRow]] = {}
    for folder in dirs:
        for row in RunStore(folder).samples():
            if row.unit_key in wanted:
                out.setdefault(row.unit_key, {})[row.sample_id] = row
    return dict(out)


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


def _task_part(audit: TaskAudit, fig_dir: Path, rel: str) -> str:
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
    figure = _plot(audit, fig_dir, rel)
    return "\n\n".join(p for p in (*parts, figure) if p)


CSV_COLUMNS = (
    "task", "base", "config", "noise_floor", "n", "flips", "correct_to_wrong",
    "wrong_to_correct", "drift_unit", "drift_median", "drift_p99", "drift_max", "p_flips",
    "p_drift", "exceeds", "reason",
)  # fmt: skip


def write_audit_csv(audits: Sequence[TaskAudit], path: Path) -> None:
    """The audit in tidy form: one row per (task, base, configuration)."""
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for a in audits:
            for p in a.pairs:
                writer.writerow(
                    [
                        a.task,
                        a.base,
                        p.config,
                        p.noise_floor,
                        p.n,
                        p.flips,
                        p.correct_to_wrong,
                        p.wrong_to_correct,
                        a.drift_unit,
                        p.drift_median,
                        p.drift_p99,
                        p.drift_max,
                        p.p_flips,
                        p.p_drift,
                        p.exceeds,
                        p.reason,
                    ]
                )


def invariance_section(audits: Sequence[TaskAudit], fig_dir: Path, rel: str) -> str:
    if not audits:
        return ""
    write_audit_csv(audits, fig_dir / "invariance.csv")
    link = (
        f"The audit as a table, one row per configuration: [invariance.csv]({rel}/invariance.csv)."
    )
    return "\n\n".join([INTRO, link, *(_task_part(a, fig_dir, rel) for a in audits)])


def audits_of(
    manifests: Sequence[Manifest], records: Sequence[Record], dirs: Sequence[Path]
) -> list[TaskAudit]:
    config = audit_config(manifests)
    if config is None or not any(r.audit_base for r in records):
        return []
    return audit_run(records, audited_rows(dirs, records), config)


def _plot(audit: TaskAudit, fig_dir: Path, rel: str) -> str | None:
    """The flip matrix as a heat map beside the drift distribution of each configuration."""
    with_drift = [p for p in audit.pairs if p.drift_values]
    if audit.flip_matrix is None and not with_drift:
        return None
    plt = _pyplot()
    panels = (audit.flip_matrix is not None) + bool(with_drift)
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.4), squeeze=False)
    column = 0
    short = [c.split("@", 1)[-1] for c in audit.configs]
    if audit.flip_matrix is not None:
        ax = axes[0][column]
        # Shaded against a fifth of the samples, so one flip in a hundred stays pale.
        top = max(1.0, 0.2 * max(p.n for p in audit.pairs))
        ax.imshow(audit.flip_matrix, cmap="Reds", vmin=0, vmax=top)
        for i, line in enumerate(audit.flip_matrix):
            for j, count in enumerate(line):
                shade = "white" if count > top / 2 else "black"
                ax.text(j, i, str(count), ha="center", va="center", fontsize=8, color=shade)
        ax.set_xticks(range(len(short)), short, rotation=35, ha="right", fontsize=7)
        ax.set_yticks(range(len(short)), short, fontsize=7)
        ax.set_title("samples answered differently", fontsize=9)
        column += 1
    if with_drift:
        _drift_panel(axes[0][column], with_drift, audit.drift_unit, audit.tolerance)
    fig.suptitle(f"{audit.task}: invariance against {audit.base}", fontsize=10)
    fig.tight_layout()
    name = file_slug(f"{audit.task}_{audit.base}") + "_invariance.png"
    fig_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(fig_dir / name)
    plt.close(fig)
    return f"![{audit.task} invariance]({rel}/{name})"


def _drift_panel(ax: Any, pairs: Sequence[PairAudit], unit: str, tolerance: float) -> None:
    floor = 1e-12  # drift 0 drawn on a log axis: an exactly repeated sum
    data = [[max(v, floor) for v in p.drift_values] for p in pairs]
    labels = [p.config.split("@", 1)[-1] for p in pairs]
    ax.boxplot(data, tick_labels=labels, showfliers=True)
    ax.axhline(tolerance, color="grey", linestyle="--", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylabel(f"|log-likelihood drift| ({unit})", fontsize=8)
    ax.set_title("drift from the base (dashed: tolerance; 0 drawn at 1e-12)", fontsize=9)
    ax.tick_params(axis="x", labelrotation=35, labelsize=7)
