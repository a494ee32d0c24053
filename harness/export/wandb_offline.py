"""Export a run to Weights & Biases: one W&B run per record, in offline mode by default.

Offline runs are written under `DIR/wandb/` and uploaded later with `wandb sync DIR/wandb/
offline-run-*` (nothing leaves the machine here). The config holds the knobs, the summary the
quality and performance values with their interval bounds and stderr; the runs of one
limitbench run share a group (its run id), and the report is saved with each run's files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.core.errors import UserError
from harness.export.flat import ExportRun, flatten

_EXTRA = "pip install 'limitbench[wandb]'"


def _wandb() -> Any:
    try:
        import wandb
    except ImportError:
        raise UserError(f"--wandb needs the wandb extra: {_EXTRA}") from None
    return wandb


def export_wandb(
    run: ExportRun, folder: Path, project: str | None, report: Path | None, online: bool = False
) -> list[Path]:
    """Write one W&B run per record under `folder`; returns the runs' folders (offline)."""
    wandb = _wandb()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"--wandb {folder}: cannot create it ({err.strerror})") from None
    written = []
    os.environ.setdefault("WANDB_SILENT", "true")  # its banner would tear our output
    for record in run.records:
        flat = flatten(record)
        settings = wandb.Settings(silent=True, x_disable_stats=True, save_code=False)
        wb_run = wandb.init(
            mode="online" if online else "offline",
            dir=str(folder),
            project=project or f"limitbench-{run.manifest.suite}",
            name=flat.name,
            group=record.run_id,
            job_type=record.task,
            config={**flat.params, **flat.tags},
            settings=settings,
            reinit="create_new",
        )
        wb_run.log(flat.metrics)
        for key, number in flat.metrics.items():
            wb_run.summary[key] = number
        if report is not None:
            wb_run.save(str(report), base_path=str(report.parent), policy="now")
        wb_run.finish()
        written.append(Path(wb_run.dir).parent)
    return written
