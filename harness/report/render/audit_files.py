"""The invariance audit's files beside the report: per task, the flip matrix as a heat map
beside the drift distribution of each configuration, and the whole audit as a tidy CSV."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.report.analysis.audit import PairAudit, TaskAudit
from harness.report.render.plots import _pyplot

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


def audit_plot(path: Path, audit: TaskAudit) -> Path:
    """The flip matrix as a heat map beside the drift distribution of each configuration
    (either alone where the task has only one: no discrete answers, or no log-likelihoods)."""
    with_drift = [p for p in audit.pairs if p.drift_values]
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
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


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
