"""`limitbench report`: aggregate runs, render markdown with figures and the same report as
one self-contained HTML file beside it, export the frame."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.core.errors import UserError, user_path
from harness.core.paths import as_folder_name
from harness.report.analysis.aggregate import load_runs, to_frame
from harness.report.analysis.audit_runs import audits_of
from harness.report.analysis.trend import TrendOptions
from harness.report.render.document import render
from harness.report.render.html import write_html
from harness.run.slo_search import read_outcomes
from harness.store.records import Record
from harness.store.runfiles import Manifest


def default_target(manifests: list[Manifest]) -> Path:
    first = manifests[0]
    # Names read from a run folder's manifest, which may come from someone else: one folder
    # and one file inside reports/, whatever they hold.
    return Path("reports") / as_folder_name(first.suite) / f"{as_folder_name(first.run_id)}.md"


def load_samples(
    dirs: list[Path], manifests: list[Manifest], records: list[Record]
) -> dict[tuple[str, str], dict[str, dict[str, float]]]:
    """Per-sample scores by (variant, task) and sample id, for the paired vs-base CIs. A
    run's records are matched by its manifest's run id, not its folder's name: a renamed
    folder or a saved baseline keeps its pairing and its score checks."""
    from harness.store.records import RunStore

    out: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
    for folder, manifest in zip(dirs, manifests, strict=True):
        mine = [r for r in records if r.run_id == manifest.run_id]
        for unit, rows in RunStore(folder).scores_by_unit(mine).items():
            out.setdefault(unit, {}).update(rows)  # one unit in several runs: rows merge
    return out


def write_report(
    run_dirs: list[Path] | Path,
    out: Path | None,
    csv: Path | None = None,
    parquet: Path | None = None,
    trend: TrendOptions | None = None,
) -> Path:
    from harness.run.lock import note_if_in_progress

    dirs = [run_dirs] if isinstance(run_dirs, Path) else run_dirs
    manifests, records = load_runs(dirs)
    for folder, manifest in zip(dirs, manifests, strict=False):
        note_if_in_progress(folder, sum(r.run_id == manifest.run_id for r in records))
    target = out or default_target(manifests)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"--out {target}: cannot create its folder ({err.strerror})") from None
    fig_dir = target.with_suffix("")
    command = "limitbench " + " ".join(sys.argv[1:]) if sys.argv else "limitbench report"
    samples = load_samples(dirs, manifests, records)
    audits = audits_of(manifests, records, dirs)
    text = render(
        manifests,
        records,
        fig_dir,
        fig_dir.name,
        command,
        samples=samples,
        trend=trend,
        audits=audits,
        searches=[o for d in dirs for o in read_outcomes(d)],
    )
    with user_path("--out", target):
        target.write_text(text, encoding="utf-8")
        write_html(text, target)  # beside it: report.md -> report.html, figures embedded
    if csv is not None or parquet is not None:
        frame = to_frame(records)
        if csv is not None:
            with user_path("--csv", csv):
                frame.to_csv(csv, index=False)
        if parquet is not None:
            try:
                with user_path("--parquet", parquet):
                    frame.to_parquet(parquet, index=False)
            except ImportError as err:
                raise UserError(f"--parquet needs pyarrow: {err}") from None
    return target
