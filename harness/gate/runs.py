"""A run (or a saved baseline) as the gate reads it: records and per-sample scores."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.core.errors import UserError
from harness.core.paths import is_folder_name
from harness.store.reading import note_unfinished
from harness.store.records import Record, RunStore
from harness.store.runfiles import Manifest

BASELINES = Path("results") / "baselines"


@dataclass(frozen=True)
class RunData:
    path: Path
    manifest: Manifest
    records: dict[tuple[str, str], Record]
    samples: dict[tuple[str, str], dict[str, dict[str, float]]]
    in_progress: bool = False  # records.jsonl ends in a torn line: a unit being written


def locate(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if (path / "manifest.json").exists():
        return path
    saved = BASELINES / name_or_path
    if (saved / "manifest.json").exists():
        return saved
    raise UserError(f"'{name_or_path}' is neither a run folder nor a baseline in {BASELINES}")


def load(name_or_path: str) -> RunData:
    path = locate(name_or_path)
    store = RunStore(path)
    manifest = store.manifest()
    read = store.unique_records()
    records: dict[tuple[str, str], Record] = {r.unit_key: r for r in read.rows}
    if not records:
        raise UserError(f"{path}: holds no finished records")
    from harness.run.lock import note_if_in_progress

    note_if_in_progress(path, len(records))
    if read.torn_final_line:
        note_unfinished(store.records_path)
    return RunData(
        path, manifest, records, store.scores_by_unit(records.values()), read.torn_final_line
    )


def save_baseline(run: str, name: str) -> Path:
    """Copy a run's records, samples and manifest to results/baselines/NAME (committed)."""
    if not is_folder_name(name):
        raise UserError(
            f"baseline name '{name}': use a plain name (letters, digits, '_', '-', '.'), not a "
            f"path; baselines are saved as folders of {BASELINES}"
        )
    source = locate(run)
    target = BASELINES / name
    if target.exists():
        raise UserError(f"baseline '{name}' already exists at {target}; remove it first")
    target.mkdir(parents=True)
    for file in ("manifest.json", "records.jsonl", "samples.jsonl"):
        shutil.copy2(source / file, target / file)
    return target
