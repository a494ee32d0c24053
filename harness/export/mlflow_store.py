"""Export a run to MLflow: one MLflow run per record, in an experiment named after the suite.

Parameters are the variant's knobs, metrics the quality and performance values with their
interval bounds and stderr as extra metrics, tags say which run, task and variant it was and
why a measurement is missing; the report (markdown and figures) and the record itself are
artifacts. The store is a SQLite file by default (MLflow's file store is in maintenance mode
and refuses new use unless asked for with a `file:` URI), or any tracking URI.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import UserError
from harness.export.flat import ExportRun, flatten

_EXTRA = "pip install 'limitbench[mlflow]'"


@dataclass(frozen=True)
class MlflowTarget:
    tracking_uri: str
    artifact_root: str | None  # for a local store: a folder beside it


def tracking_target(given: str) -> MlflowTarget:
    """A tracking URI as given (sqlite:, file:, http(s):, databricks), or a local path: a
    `.db` file, or a folder that gets `mlflow.db` and `artifacts/`."""
    if "://" in given or given.startswith(("file:", "databricks")):
        if given.startswith("sqlite:///"):
            db = Path(given.removeprefix("sqlite:///"))
            return MlflowTarget(given, (db.parent / "artifacts").resolve().as_uri())
        return MlflowTarget(given, None)
    path = Path(given).expanduser().resolve()
    db = path if path.suffix == ".db" else path / "mlflow.db"
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"--mlflow {given}: cannot create {db.parent} ({err.strerror})") from None
    return MlflowTarget(f"sqlite:///{db}", (db.parent / "artifacts").as_uri())


def _client(target: MlflowTarget) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise UserError(f"--mlflow needs the mlflow extra: {_EXTRA}") from None
    if target.tracking_uri.startswith("file:"):
        # Asked for by name: MLflow otherwise refuses its maintenance-mode file store.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return MlflowClient(tracking_uri=target.tracking_uri)


def _experiment(client: Any, name: str, target: MlflowTarget) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    return str(client.create_experiment(name, artifact_location=target.artifact_root))


def export_mlflow(
    run: ExportRun, given: str, experiment: str | None, report: Path | None
) -> list[str]:
    """Log every record as an MLflow run; returns the MLflow run ids, in record order."""
    target = tracking_target(given)
    client = _client(target)
    experiment_id = _experiment(client, experiment or run.manifest.suite, target)
    ids = []
    for record in run.records:
        flat = flatten(record)
        created = client.create_run(experiment_id, run_name=flat.name, tags=flat.tags)
        run_id = created.info.run_id
        for key, value in flat.params.items():
            client.log_param(run_id, key, value)
        for key, number in flat.metrics.items():
            client.log_metric(run_id, key, number)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "record.json"
            path.write_text(json.dumps(record.model_dump(mode="json"), indent=2))
            client.log_artifact(run_id, str(path))
        if report is not None:
            client.log_artifact(run_id, str(report), artifact_path="report")
            figures = report.with_suffix("")
            if figures.is_dir():
                client.log_artifacts(run_id, str(figures), artifact_path=f"report/{figures.name}")
        client.set_terminated(run_id)
        ids.append(run_id)
    return ids
