"""`limitbench export RUN_DIR`: hand a run to the tools people track experiments with."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from harness.export.flat import ExportRun


def export_run(
    run_dir: Annotated[Path, typer.Argument(help="run folder written by `limitbench run`")],
    mlflow: Annotated[
        str | None, typer.Option(help="MLflow store: a folder, a .db file or a tracking URI")
    ] = None,
    experiment: Annotated[str | None, typer.Option(help="MLflow experiment [suite]")] = None,
    wandb: Annotated[
        Path | None, typer.Option(help="folder for offline Weights & Biases runs")
    ] = None,
    project: Annotated[str | None, typer.Option(help="W&B project [limitbench-<suite>]")] = None,
    lm_eval: Annotated[
        Path | None, typer.Option(help="folder for lm-eval results JSON, one per variant")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="report to attach [reports/<suite>/<run-id>.md if any]")
    ] = None,
) -> None:
    """Export a run to MLflow, W&B (offline) or lm-eval's results JSON (at least one)."""
    from harness.core.errors import UserError
    from harness.export.flat import read_run

    if mlflow is None and wandb is None and lm_eval is None:
        raise UserError("export: give at least one of --mlflow, --wandb, --lm-eval")
    run = read_run(run_dir)
    attached = _report(run.manifest.suite, run.manifest.run_id, report)
    if mlflow is not None:
        from harness.export.mlflow_store import export_mlflow

        ids = export_mlflow(run, mlflow, experiment, attached)
        typer.echo(f"mlflow: {len(ids)} run(s) in {mlflow}")
    if wandb is not None:
        from harness.export.wandb_offline import export_wandb

        folders = export_wandb(run, wandb, project, attached)
        typer.echo(f"wandb: {len(folders)} offline run(s) under {wandb}/wandb")
    if lm_eval is not None:
        _write_lm_eval(run, lm_eval)


def _report(suite: str, run_id: str, given: Path | None) -> Path | None:
    from harness.core.errors import UserError

    if given is not None:
        if not given.is_file():
            raise UserError(f"--report {given}: no such file")
        return given
    default = Path("reports") / suite / f"{run_id}.md"
    return default if default.is_file() else None


def _write_lm_eval(run: ExportRun, folder: Path) -> None:
    import json

    from harness.core.errors import UserError
    from harness.export.lm_eval import to_lm_eval

    try:
        folder.mkdir(parents=True, exist_ok=True)
        for variant_id, results in to_lm_eval(run).items():
            path = folder / f"results_{variant_id.replace('/', '_')}.json"
            path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
            typer.echo(str(path))
    except OSError as err:
        raise UserError(f"--lm-eval {folder}: cannot write ({err.strerror})") from None
