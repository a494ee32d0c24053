"""A record flattened for experiment trackers: names, tags, parameters and numeric metrics.

Trackers (MLflow, Weights & Biases) hold flat string parameters and float metrics, so each
Value becomes its estimate plus its interval bounds and stderr as metrics of their own
(`quality/accuracy`, `quality/accuracy_ci_low`, ...). A measurement that could not be taken
stays out of the metrics (unavailable is not zero) and is a tag saying why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from harness.core.errors import UserError
from harness.core.values import Value
from harness.store.records import Record, RunStore
from harness.store.runfiles import Manifest

BOUNDS = ("stderr", "ci_low", "ci_high")


@dataclass(frozen=True)
class FlatRecord:
    """One record as a tracker run."""

    name: str  # "variant · task"
    tags: dict[str, str]
    params: dict[str, str]  # the variant's knobs (and what identifies the unit)
    metrics: dict[str, float]


@dataclass(frozen=True)
class ExportRun:
    """A run folder read for export."""

    path: Path
    manifest: Manifest
    records: list[Record]


def read_run(folder: Path) -> ExportRun:
    store = RunStore(folder)
    if not store.exists():
        raise UserError(f"{folder}: not a run folder (no manifest.json)")
    records = store.records()
    if not records:
        raise UserError(f"{folder}: holds no finished records")
    return ExportRun(folder, store.manifest(), records)


def value_metrics(prefix: str, values: dict[str, Value]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in sorted(values.items()):
        for suffix, number in (("", value.value), *((f"_{b}", getattr(value, b)) for b in BOUNDS)):
            if number is not None and math.isfinite(number):
                out[f"{prefix}/{name}{suffix}"] = float(number)
    return out


def _spec_tags(record: Record) -> dict[str, str]:
    """What each perf value measures, one tag per value (trackers cap tags per request):
    `spec.perf/<name>` = "kind=speed phase=prefill scope=window kernels=real"."""
    out: dict[str, str] = {}
    for name in sorted(record.perf):
        spec = record.perf_spec(name)
        if spec is not None:
            fields = ("kind", "phase", "scope", "kernels")
            out[f"spec.perf/{name}"] = " ".join(f"{f}={getattr(spec, f)}" for f in fields)
    return out


def flatten(record: Record) -> FlatRecord:
    tags = {
        "limitbench.run_id": record.run_id,
        "limitbench.suite": record.suite,
        "limitbench.task": record.task,
        "limitbench.task_version": str(record.task_version),
        "limitbench.adapter": record.adapter,
        "limitbench.variant_id": record.variant_id,
        "limitbench.model": record.model,
        "limitbench.primary": ",".join(record.primary_metrics()),
    }
    tags.update({f"unavailable.{k}": reason for k, reason in sorted(record.unavailable.items())})
    tags.update(_spec_tags(record))
    params = {"model": record.model, "task": record.task, "n_params": str(record.n_params)}
    params.update({f"knob.{k}": str(v) for k, v in sorted(record.knobs.items())})
    metrics = {**value_metrics("quality", record.quality), **value_metrics("perf", record.perf)}
    return FlatRecord(f"{record.variant_id} · {record.task}", tags, params, metrics)
