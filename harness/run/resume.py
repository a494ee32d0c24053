"""What a resume must match: the run it finishes started from the same suite, task files,
--limit and data, or its units would mix two experiments under one run id."""

from __future__ import annotations

import hashlib
import json
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


def check_fresh(store: RunStore, out: Path) -> None:
    """A new run starts only in a folder that holds no run's files: it would append its
    records to another run's, and two run ids would share one folder."""
    if store.exists():
        raise UserError(f"{out} already holds a run; pass --resume or choose another --out")
    left = _leftovers(store)
    if left:
        raise UserError(
            f"{out} holds {left} but no manifest.json: the files of a run whose manifest is "
            "lost. A new run is not written beside them. Restore its manifest.json and pass "
            "--resume, move those files out of the folder, or give a new --out"
        )


def check_resumable(p: Plan, store: RunStore, out: Path) -> Manifest:
    """The folder's manifest, once the folder is a run that this plan continues exactly."""
    if not store.exists():
        left = _leftovers(store)
        choices = (
            f"it holds {left}: restore the run's manifest.json, or move those files away (or "
            "give a new --out) to start a new run"
            if left
            else "drop --resume to start a new run, or point --out at the run to finish"
        )
        raise UserError(f"--resume: {out} is not a run folder (it has no manifest.json); {choices}")
    manifest = store.manifest()
    changed = _changes(p, manifest) + _other_runs(store, manifest.run_id)
    if changed:
        raise UserError(
            f"--resume {out}: {'; '.join(changed)}. A resumed run must use what it started "
            f"with (it was started by: {manifest.command}); undo the change or start a new run"
        )
    return manifest


def _leftovers(store: RunStore) -> str:
    """What of a run's files the folder holds, in words; '' for none."""
    found = []
    for path, what in ((store.records_path, "record"), (store.samples_path, "sample row")):
        count = _line_count(path)
        if count:
            found.append(f"{count} {what}(s) in {path.name}")
    return " and ".join(found)


def _line_count(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return 0


def _other_runs(store: RunStore, run_id: str) -> list[str]:
    """Records of another run id: a second run was written into this folder. Resuming would
    keep one run's records under the other's manifest, so the folder is refused instead."""
    others: dict[str, list[int]] = {}
    try:
        lines = store.records_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    for number, text in enumerate(lines, start=1):
        try:
            found = json.loads(text).get("run_id")
        except (ValueError, AttributeError):
            continue  # a damaged line: repair sets it aside
        if isinstance(found, str) and found != run_id:
            others.setdefault(found, []).append(number)
    return [
        f"{store.records_path} holds records of run '{other}' (line(s) "
        f"{', '.join(map(str, numbers[:5]))}{', ...' if len(numbers) > 5 else ''}) besides "
        f"this run's '{run_id}'; move them to a folder of their own"
        for other, numbers in others.items()
    ]


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
