"""What a resume must match: the run it finishes started from the same suite, task files,
--limit and data, or its units would mix two experiments under one run id."""

from __future__ import annotations

import hashlib
from pathlib import Path

from harness.core.errors import UserError
from harness.data import ids_digest
from harness.run.plan import Plan, PreparedTask
from harness.store.records import RunStore
from harness.store.runfiles import Manifest
from harness.suite.schema import file_sha256


def data_digest(task: PreparedTask) -> str:
    """sha256 of every row's id, then of the evaluated samples' ids: the ids are content
    hashes, so this changes with the data, the seed, the sampling and the duplicates policy."""
    evaluated = ids_digest(task.samples)
    return hashlib.sha256(f"{task.rows_sha256}\n{evaluated}".encode()).hexdigest()


def check_resumable(p: Plan, store: RunStore, out: Path) -> Manifest:
    """The folder's manifest, once the folder is a run that this plan continues exactly."""
    if not store.exists():
        raise UserError(
            f"--resume: {out} is not a run folder (it has no manifest.json); "
            "drop --resume to start a new run, or point --out at the run to finish"
        )
    manifest = store.manifest()
    changed = _changes(p, manifest)
    if changed:
        raise UserError(
            f"--resume {out}: {'; '.join(changed)}. A resumed run must use what it started "
            f"with (it was started by: {manifest.command}); undo the change or start a new run"
        )
    return manifest


def _changes(p: Plan, manifest: Manifest) -> list[str]:
    changed = []
    if manifest.suite_sha256 != file_sha256(p.suite_path):
        changed.append(f"the suite file {p.suite_path} changed since the run started")
    if manifest.schema_version >= 2 and manifest.limit != p.limit:
        changed.append(f"--limit is {_flag(p.limit)}, the run started with {_flag(manifest.limit)}")
    for task in p.tasks:
        entry = manifest.tasks.get(task.name)
        if entry is None:
            changed.append(f"task '{task.name}' is not part of the run")
            continue
        if entry.sha256 != file_sha256(task.path):
            changed.append(f"task file {task.path} changed since the run started")
        if entry.n != len(task.samples):
            changed.append(
                f"task '{task.name}' now selects {len(task.samples)} samples, "
                f"the run started with {entry.n}"
            )
        elif entry.data_sha256 is not None and entry.data_sha256 != data_digest(task):
            changed.append(f"the data of task '{task.name}' ({entry.path}'s source) changed")
    return changed


def _flag(limit: int | None) -> str:
    return "not given" if limit is None else str(limit)
