"""A run (or a saved baseline) as the gate reads it: records and per-sample scores."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError
from harness.store.records import Record, RunStore
from harness.store.runfiles import Manifest

BASELINES = Path("results") / "baselines"


@dataclass(frozen=True)
class RunData:
    path: Path
    manifest: Manifest
    records: dict[tuple[str, str], Record]
    samples: dict[tuple[str, str], dict[str, dict[str, float]]]


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
    records = {r.unit_key: r for r in store.records()}
    if not records:
        raise UserError(f"{path}: holds no finished records")
    from harness.run.lock import note_if_in_progress

    note_if_in_progress(path, len(records))
    return RunData(path, store.manifest(), records, store.scores_by_unit())


def save_baseline(run: str, name: str) -> Path:
    """Copy a run's records, samples and manifest to results/baselines/NAME (committed)."""
    source = locate(run)
    target = BASELINES / name
    if target.exists():
        raise UserError(f"baseline '{name}' already exists at {target}; remove it first")
    target.mkdir(parents=True)
    for file in ("manifest.json", "records.jsonl", "samples.jsonl"):
        shutil.copy2(source / file, target / file)
    return target
