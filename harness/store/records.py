"""Record schema (versioned) and the append-only JSONL run store with resume.

A run folder holds:
  records.jsonl  one Record per (variant, task) unit, appended and fsync'ed when it finishes
  samples.jsonl  per-sample inputs, outputs and scores, written before the unit's record
  manifest.json  the suite, its hash and the environment fingerprint

A unit is finished exactly when its record line is complete. On resume, a torn final line is
dropped and the samples of unfinished units are set aside in samples.jsonl.damaged (never
deleted), so every unit appears exactly once and nothing written is lost.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from harness.core.errors import UserError
from harness.core.perf_specs import Kernels, PerfSpec
from harness.core.values import Value
from harness.hardware.fingerprint import Fingerprint
from harness.metrics.spec import MetricSpec
from harness.store.migrate_metrics import v1_metric_specs, v1_primary_metrics
from harness.store.migrate_perf import v2_engine, v2_kernels, v2_perf_specs
from harness.store.reading import ReadLines, read_rows
from harness.store.runfiles import Manifest, ModelIdentity, SampleRow
from harness.variants.resolved import ResolvedConfig

# 3: each record also stores its perf values' specs (`perf_specs`; older records: derived
# once in harness.store.migrate_perf); 2: its quality metrics' specs (`metrics`); 1: neither,
# see harness.store.migrate_metrics. All load.
SCHEMA_VERSION = 3


class Record(BaseModel):
    """One line of records.jsonl: the result of one task on one model variant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = Field(default=SCHEMA_VERSION, description="version of this layout")
    run_id: str = Field(description="the run that wrote the record (its folder name)")
    suite: str = Field(description="the suite's `name`")
    task: str = Field(description="the task's `name`")
    task_version: int = Field(description="the task file's `version`")
    adapter: str = Field(description="the adapter that turned samples into requests and scores")
    variant_id: str = Field(description="model name plus sorted knobs: the join key across runs")
    model: str = Field(description="the suite's model entry name")
    n_params: int = Field(description="effective parameters (non-zero / kept layers)")
    knobs: dict[str, str | int | float | bool] = Field(description="the variant's knob values")
    quality: dict[str, Value] = Field(description="task metrics, each with its uncertainty")
    metrics: dict[str, MetricSpec] = Field(
        default_factory=dict,
        description="quality metric name -> how it is computed from the unit's per-sample "
        "scores, its direction and whether the gate judges it (empty in schema_version 1)",
    )
    perf: dict[str, Value] = Field(
        description="measured speed, memory, energy and variant facts, each with its unit"
    )
    perf_specs: dict[str, PerfSpec] = Field(
        default_factory=dict,
        description="perf name -> what it measures: kind, phase, scope, whose kernels "
        "(empty before schema_version 3)",
    )
    unavailable: dict[str, str] = Field(
        default_factory=dict, description="profiler name -> why it could not measure here"
    )
    conventions: dict[str, str] = Field(
        default_factory=dict, description="conventions the numbers follow (for comparisons)"
    )
    model_released: str | None = Field(
        default=None,
        description="the model's release date (ISO 8601) as its suite entry gives it, for the "
        "quality-per-cost trend; None: not given",
    )
    kl_reference: str | None = Field(
        default=None,
        description="the variant whose token distributions the kl_* and top1_agreement "
        "metrics compare this one with (same task, same tokenizer); None: not compared",
    )
    audit_base: str | None = Field(
        default=None,
        description="the variant this one is compared with, sample by sample, in the suite's "
        "invariance audit (the family's base; the base names itself); None: not audited",
    )
    started_at: str = Field(description="ISO 8601 UTC time the unit started")
    wall_s: float = Field(description="wall time of the whole unit in seconds, scoring included")
    model_identity: ModelIdentity | None = Field(
        default=None,
        description="the model's source, engine and weight digest (None in older records)",
    )
    env: Fingerprint | None = Field(
        default=None,
        description="the machine that measured this unit (units of one run may land on "
        "different cluster nodes); None in records written before it existed",
    )
    resolved: ResolvedConfig | None = Field(
        default=None,
        description="the configuration that ran: every engine option after defaults and "
        "`auto` were resolved (device, dtype, batch size, ...), what the engine reports of "
        "itself and the library versions; None in records written before it existed, whose "
        "readers fall back to the defaults of their time",
    )

    # an older record's specs, derived once on first use (harness.store.migrate_perf)
    _derived_specs: dict[str, PerfSpec] | None = PrivateAttr(default=None)

    @property
    def unit_key(self) -> tuple[str, str]:
        return (self.variant_id, self.task)

    def metric_spec(self, name: str) -> MetricSpec | None:
        """How quality metric `name` is recomputed and compared; None when unknown."""
        if self.schema_version >= 2:
            return self.metrics.get(name)
        return v1_metric_specs(self.conventions, self.adapter, self.quality).get(name)

    def perf_spec(self, name: str) -> PerfSpec | None:
        """What perf value `name` measures; None when the record has no such value."""
        if name not in self.perf:
            return None
        if name in self.perf_specs:
            return self.perf_specs[name]
        # written before schema 3, or by a writer that stored no spec: derived from the name
        if self._derived_specs is None:
            self._derived_specs = v2_perf_specs(self.perf, self.conventions)
        return self._derived_specs.get(name)

    @property
    def engine(self) -> str | None:
        """The backend that ran the unit (hf, llamacpp, openai, ...); None when unknown."""
        if self.model_identity is not None:
            return self.model_identity.engine
        return v2_engine(self.conventions)

    @property
    def kernels(self) -> Kernels:
        """Whose kernels the unit's measured values come from (real unless simulated)."""
        specs = (self.perf_spec(name) for name in self.perf)
        found = next((s.kernels for s in specs if s is not None and s.measured), None)
        if found is not None:
            return found
        # no measured value (a quality-only run): what the transforms wrote in conventions
        return v2_kernels(self.conventions)

    def primary_metrics(self) -> tuple[str, ...]:
        """The metrics the task is judged on, the report's ranking metric first."""
        if self.schema_version < 2:
            return v1_primary_metrics(self.conventions, self.adapter, self.quality)
        ranked = sorted(
            (spec.primary_rank, name)
            for name, spec in self.metrics.items()
            if spec.primary_rank is not None
        )
        return tuple(name for _, name in ranked)


def _append_lines(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    payload = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if not payload:
        return
    with path.open("a", encoding="utf-8") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


class RunStore:
    """The files of one run folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.records_path = root / "records.jsonl"
        self.samples_path = root / "samples.jsonl"
        self.manifest_path = root / "manifest.json"

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def create(self, manifest: Manifest) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_suffix(".tmp")
        text = json.dumps(manifest.model_dump(mode="json"), indent=2, ensure_ascii=False)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.manifest_path)
        # present from the start, so a run whose units had no sample rows still has it and
        # a missing one always means a damaged or incomplete copy (report and gate refuse it)
        self.samples_path.touch()

    def manifest(self) -> Manifest:
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            return Manifest.model_validate(data)
        except (OSError, ValueError) as err:  # pydantic's ValidationError is a ValueError
            raise UserError(f"{self.manifest_path}: not a readable run manifest ({err})") from None

    def read_records(self) -> ReadLines[Record]:
        """Finished records with their line numbers; exit 2 naming a damaged line."""
        return read_rows(self.records_path, Record, "a record")

    def unique_records(self) -> ReadLines[Record]:
        """read_records, refusing a second record of a unit (two writers of one run, a bad
        merge): exit 2 naming its line, for every reader that joins units."""
        read = self.read_records()
        units: set[tuple[str, str]] = set()
        for record, number in zip(read.rows, read.line_numbers, strict=True):
            if record.unit_key in units:
                raise UserError(
                    f"{self.records_path}:{number}: a second record of task '{record.task}' "
                    f"on '{record.variant_id}'; each unit must appear once (two writers of "
                    "one run?)"
                )
            units.add(record.unit_key)
        return read

    def read_samples(self) -> ReadLines[SampleRow]:
        return read_rows(self.samples_path, SampleRow, "a sample row")

    def records(self) -> list[Record]:
        return self.read_records().rows

    def samples(self) -> list[SampleRow]:
        return self.read_samples().rows

    def scores_by_unit(
        self, records: Iterable[Record] = ()
    ) -> dict[tuple[str, str], dict[str, dict[str, float]]]:
        """Per-sample scores by (variant_id, task), then sample id: what paired tests join on.

        Rows of the given records' units must hold every score field their metrics' reducers
        read; a row without one is a damaged file (exit 2 naming the line), not a KeyError
        deep inside a bootstrap.
        """
        needed = {r.unit_key: _fields_read(r) for r in records}
        read = self.read_samples()
        out: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
        for row, number in zip(read.rows, read.line_numbers, strict=True):
            missing = _missing_fields(needed.get(row.unit_key, set()), row.scores)
            if missing:
                raise UserError(
                    f"{self.samples_path}:{number}: sample '{row.sample_id}' of task "
                    f"'{row.task}' on '{row.variant_id}' has no score field "
                    f"{', '.join(repr(m) for m in missing)}, which its record's metrics read. "
                    "The run file is damaged; restore it or rerun the unit."
                )
            out.setdefault(row.unit_key, {})[row.sample_id] = row.scores
        return out

    def repair(self) -> set[tuple[str, str]]:
        """Set damaged lines aside (never delete a finished record), drop a torn final line
        and set unfinished units' samples aside; return the finished (variant_id, task) units."""
        from harness.store.repair import repair_run

        return repair_run(self).done

    def append_unit(self, record: Record, samples: Iterable[SampleRow]) -> None:
        """Samples first, record last: the record line is the unit's commit point."""
        _append_lines(self.samples_path, [s.model_dump(mode="json") for s in samples])
        _append_lines(self.records_path, [record.model_dump(mode="json")])


def _fields_read(record: Record) -> set[str]:
    out: set[str] = set()
    for name in record.quality:
        spec = record.metric_spec(name)
        if spec is not None and spec.recomputable:
            out.update(spec.scores_read())
    return out


def _missing_fields(needed: set[str], scores: Mapping[str, float]) -> list[str]:
    """Fields a reducer reads that the row lacks; `name*` asks for at least one `name...`."""
    return sorted(
        f
        for f in needed
        if (not any(k.startswith(f[:-1]) for k in scores) if f.endswith("*") else f not in scores)
    )
