"""Record schema (versioned) and the append-only JSONL run store with resume.

A run folder holds:
  records.jsonl  one Record per (variant, task) unit, appended and fsync'ed when it finishes
  samples.jsonl  per-sample inputs, outputs and scores, written before the unit's record
  manifest.json  the suite, its hash and the environment fingerprint

A unit is finished exactly when its record line is complete. On resume, half-written lines
and the samples of unfinished units are dropped, so every unit appears exactly once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Value(BaseModel):
    """A measured number with its unit, uncertainty and direction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float
    unit: str
    higher_is_better: bool | None = None
    stderr: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    note: str | None = None
    repeats: list[float] | None = None  # raw repeated measurements behind a perf median


class Record(BaseModel):
    """The result of one task on one model variant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION
    run_id: str
    suite: str
    task: str
    task_version: int
    adapter: str
    variant_id: str
    model: str
    n_params: int
    knobs: dict[str, str | int | float | bool]
    quality: dict[str, Value]
    perf: dict[str, Value]
    unavailable: dict[str, str] = Field(default_factory=dict)
    conventions: dict[str, str] = Field(default_factory=dict)
    started_at: str
    wall_s: float
    # Fingerprint of the machine that measured this unit (units of one run may land on
    # different cluster nodes); None in records written before it existed.
    env: dict[str, Any] | None = None

    @property
    def unit_key(self) -> tuple[str, str]:
        return (self.variant_id, self.task)


def _read_complete_lines(path: Path) -> list[dict[str, Any]]:
    """Parsed JSON lines, skipping a final line cut short by a kill."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return rows


def _append_lines(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    payload = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if not payload:
        return
    with path.open("a", encoding="utf-8") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def _rewrite_lines(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class RunStore:
    """The files of one run folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.records_path = root / "records.jsonl"
        self.samples_path = root / "samples.jsonl"
        self.manifest_path = root / "manifest.json"

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def create(self, manifest: Mapping[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.manifest_path)

    def manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        return data

    def records(self) -> list[Record]:
        return [Record.model_validate(row) for row in _read_complete_lines(self.records_path)]

    def samples(self) -> list[dict[str, Any]]:
        return _read_complete_lines(self.samples_path)

    def repair(self) -> set[tuple[str, str]]:
        """Drop torn lines and orphan samples; return the finished (variant_id, task) units."""
        records = _read_complete_lines(self.records_path)
        done = {(r["variant_id"], r["task"]) for r in records}
        _rewrite_lines(self.records_path, records)
        kept = [s for s in _read_complete_lines(self.samples_path) if _unit(s) in done]
        _rewrite_lines(self.samples_path, kept)
        return done

    def append_unit(self, record: Record, samples: Iterable[Mapping[str, Any]]) -> None:
        """Samples first, record last: the record line is the unit's commit point."""
        _append_lines(self.samples_path, samples)
        _append_lines(self.records_path, [record.model_dump(mode="json")])


def _unit(sample: Mapping[str, Any]) -> tuple[str, str]:
    return (str(sample.get("variant_id")), str(sample.get("task")))
