"""The markdown report: summary first, then tables, scaling curves, fits, frontiers and the
reproducibility footer. Figures are PNGs in a folder beside the markdown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.records import Record
from harness.report import analysis as an
from harness.report.aggregate import primary_metric
from harness.report.fit import Fit
from harness.report.markdown import fmt_bytes, fmt_number, fmt_value, perf_table, table, task_tables
from harness.report.plots import frontier_plot, scaling_plot
from harness.report.serving import serving_section
from harness.runfiles import Manifest


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def summary(records: Sequence[Record]) -> str:
    lines = ["## Summary", ""]
    for task, best, metric in an.best_per_task(records):
        lines.append(
            f"- **{task}**: best `{best.variant_id}`, {metric} = {fmt_value(best.quality[metric])}"
        )
    for knob, variant, task, change in an.losses_per_axis(records):
        lines.append(
            f"- biggest quality loss along **{knob}**: `{variant}` on {task}, "
            f"{change * 100:+.1f}% vs its base variant (positive = worse)"
        )
    fast = [r for r in records if an.throughput(r) is not None]
    if fast:
        top = max(fast, key=lambda r: an.throughput(r) or 0)
        lines.append(
            f"- fastest: `{top.variant_id}` on {top.task}, "
            f"{fmt_number(an.throughput(top) or 0)} tok/s"
        )
    lines.append(_energy_line(records))
    return "\n".join(lines)


def _energy_line(records: Sequence[Record]) -> str:
    measured = [r for r in records if "joules_per_token" in r.perf]
    if measured:
        best = min(measured, key=lambda r: r.perf["joules_per_token"].value)
        return (
            f"- most efficient per joule: `{best.variant_id}` on {best.task}, "
            f"{fmt_number(best.perf['joules_per_token'].value)} J/token"
        )
    reasons = {r.unavailable["energy"] for r in records if "energy" in r.unavailable}
    return (
        "- energy: not measured here (" + ("; ".join(sorted(reasons)) or "no energy profiler") + ")"
    )


def scaling_section(records: Sequence[Record], fig_dir: Path, rel: str) -> str:
    parts = ["## Scaling curves"]
    for axis, (_, label, log_x) in an.AXES.items():
        for task in sorted({r.task for r in records}):
            series = an.series_for(records, task, axis)
            if not series:
                continue
            metric = primary_metric(next(r for r in records if r.task == task))
            name = f"{_slug(task)}_{axis}.png"
            scaling_plot(
                fig_dir / name, f"{task}: {metric} vs {label}", label, metric, series, log_x
            )
            parts.append(f"![{task} {metric} vs {label}]({rel}/{name})")
    return "\n\n".join(parts) if len(parts) > 1 else ""


def fits_section(records: Sequence[Record], fig_dir: Path, rel: str, seed: int) -> str:
    rows, figures = [], []
    for row in an.size_fits(records, seed):
        if isinstance(row.result, Fit):
            fit = row.result
            e_ci = fit.ci.get("E", (float("nan"), float("nan")))
            a_ci = fit.ci.get("alpha", (float("nan"), float("nan")))
            n_star = fit.size_within(an.FIT_MARGIN)
            rows.append(
                [
                    row.task,
                    row.model,
                    row.target,
                    f"{fmt_number(fit.params['E'])} [{fmt_number(e_ci[0])}, {fmt_number(e_ci[1])}]",
                    f"{fit.params['alpha']:.3f} [{a_ci[0]:.3f}, {a_ci[1]:.3f}]",
                    fmt_number(fit.params["A"]),
                    str(fit.n_points),
                    "—" if fit.heldout_rel_error is None else f"{fit.heldout_rel_error * 100:.1f}%",
                    "—" if n_star is None else f"{n_star:.3e}",
                ]
            )
            name = f"fit_{_slug(row.task)}_{_slug(row.model)}.png"
            scaling_plot(
                fig_dir / name,
                f"{row.task}: {row.target} vs parameters",
                "effective parameters",
                row.target,
                [_target_series(row)],
                True,
                fit,
            )
            figures.append(f"![fit {row.task}]({rel}/{name})")
        else:
            rows.append(
                [
                    row.task,
                    row.model,
                    row.target,
                    "not fitted",
                    "—",
                    "—",
                    str(len(row.series.x)),
                    "—",
                    row.result.reason,
                ]
            )
    if not rows:
        return ""
    headers = [
        "task",
        "model",
        "fitted",
        "limit E [95% CI]",
        "alpha [95% CI]",
        "A",
        "points",
        "held-out error",
        f"N within {an.FIT_MARGIN:.0%} of E",
    ]
    intro = (
        "## Limits\n\nSaturating power law L(N) = E + A·N^-alpha over the depth ladder "
        "(effective parameters), fitted in log space with a robust loss; CIs from a "
        "bootstrap over points; held-out error predicts the largest model from the rest."
    )
    return "\n\n".join([intro, table(headers, rows), *figures, hardware_section(records)])


def _target_series(row: an.FitRow) -> Any:
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


def hardware_section(records: Sequence[Record]) -> str:
    rows = []
    for r in sorted(records, key=lambda r: (r.variant_id, r.task)):
        if "mfu" in r.perf or "mbu" in r.perf:
            mfu, mbu = r.perf.get("mfu"), r.perf.get("mbu")
            rows.append(
                [
                    r.variant_id,
                    r.task,
                    f"{mfu.value:.1%}" if mfu else "—",
                    f"{mbu.value:.1%}" if mbu else "—",
                    fmt_number(r.perf["peak_flops"].value / 1e9) + " GFLOP/s",
                    fmt_bytes(r.perf["peak_bandwidth"].value) + "/s",
                ]
            )
    if not rows:
        return ""
    return "### Distance to the hardware limit\n\n" + table(
        ["variant", "task", "MFU (prefill)", "MBU (decode)", "peak FLOP/s", "peak bandwidth"], rows
    )


def frontier_section(records: Sequence[Record], fig_dir: Path, rel: str) -> str:
    parts = []
    for task in sorted({r.task for r in records}):
        found = an.frontier(records, task)
        if found is None:
            continue
        recs, front = found
        metric = primary_metric(recs[0])
        name = f"frontier_{_slug(task)}.png"
        frontier_plot(
            fig_dir / name,
            f"{task}: {metric} vs speed",
            "tokens per second",
            metric,
            [an.throughput(r) or 0 for r in recs],
            [r.quality[metric].value for r in recs],
            [r.variant_id for r in recs],
            front,
        )
        names = ", ".join(f"`{recs[i].variant_id}`" for i in front)
        parts.append(f"**{task}** frontier: {names}\n\n![frontier {task}]({rel}/{name})")
    return "## Pareto frontiers (quality vs speed)\n\n" + "\n\n".join(parts) if parts else ""


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
) -> str:
    fig_dir.mkdir(parents=True, exist_ok=True)
    title = " + ".join(f"{m.suite}/{m.run_id}" for m in manifests)
    sections = [
        f"# limitbench report: {title}\n\n{len(records)} records.",
        summary(records),
        "## Quality by task\n\n" + task_tables(records),
        "## Performance\n\n" + perf_table(records),
        scaling_section(records, fig_dir, rel),
        fits_section(records, fig_dir, rel, seed),
        frontier_section(records, fig_dir, rel),
        serving_section(records, fig_dir, rel),
        footer(manifests, command),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"
