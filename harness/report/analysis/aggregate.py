"""One tidy pandas frame from one or several run folders: a row per (record, metric)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from harness.core.errors import UserError
from harness.core.perf_names import PerfName
from harness.store.reading import note_unfinished
from harness.store.records import Record, RunStore
from harness.store.runfiles import Manifest
from harness.variants.base import DTYPE_BITS

# Facts a variant's record carries in `perf` that describe the variant rather than its speed.
AXES = ("n_params", PerfName.BITS_PER_WEIGHT, PerfName.SPARSITY, PerfName.LAYERS_KEPT)
# Bits of a record that states no resolved dtype and has no dtype knob: written when every
# in-process engine defaulted to float32 (records now state the dtype that ran).
LEGACY_DEFAULT_BITS = 32.0


def load_runs(run_dirs: list[Path]) -> tuple[list[Manifest], list[Record]]:
    """Each run's manifest and records, refusing what would silently double or drop units:
    the same run given twice, a unit recorded twice in one run, a run without its per-sample
    scores (the gate refuses the same; issue: a report exited 0 on each)."""
    manifests: list[Manifest] = []
    records: list[Record] = []
    seen: dict[str, Path] = {}
    for run_dir in run_dirs:
        store = RunStore(run_dir)
        if not store.exists():
            raise UserError(f"{run_dir}: not a run folder (no manifest.json)")
        manifest = store.manifest()
        if manifest.run_id in seen:
            raise UserError(
                f"{run_dir}: run '{manifest.run_id}' is already given as {seen[manifest.run_id]}; "
                "give each run once (its records would count twice)"
            )
        seen[manifest.run_id] = run_dir
        read = store.unique_records()
        if read.torn_final_line:
            note_unfinished(store.records_path)
        found = read.rows
        if not found:
            raise UserError(f"{run_dir}: holds no finished records yet")
        if not store.samples_path.exists():
            raise UserError(
                f"{store.samples_path}: missing; the per-sample scores the report's paired "
                "intervals need are gone. Restore the file from a copy of the run, or rerun it"
            )
        manifests.append(manifest)
        records.extend(found)
    return manifests, records


def axis_values(record: Record) -> dict[str, float]:
    """Where a variant sits on each scaling axis (absent axes take the unmodified value)."""
    perf = record.perf
    bits = (
        perf[PerfName.BITS_PER_WEIGHT].value
        if PerfName.BITS_PER_WEIGHT in perf
        else _dtype_bits(record)
    )
    return {
        "n_params": float(record.n_params),
        PerfName.BITS_PER_WEIGHT: bits,
        PerfName.SPARSITY: perf[PerfName.SPARSITY].value if PerfName.SPARSITY in perf else 0.0,
        PerfName.LAYERS_KEPT: perf[PerfName.LAYERS_KEPT].value
        if PerfName.LAYERS_KEPT in perf
        else float("nan"),
    }


def _dtype_bits(record: Record) -> float:
    """The bits of the dtype that ran, as the record states it (a vLLM variant without a
    dtype knob ran in the checkpoint's bf16: 16 bits); NaN where the engine could not tell
    (a served model). A record written before records stated it falls back to its dtype
    knob, else the float32 every engine then defaulted to."""
    if record.resolved is not None:
        return DTYPE_BITS.get(str(record.resolved.dtype), math.nan)
    return DTYPE_BITS.get(str(record.knobs.get("dtype")), LEGACY_DEFAULT_BITS)


def to_frame(records: list[Record]) -> pd.DataFrame:
    rows = []
    for r in records:
        base = {
            "run_id": r.run_id,
            "suite": r.suite,
            "task": r.task,
            "adapter": r.adapter,
            "variant_id": r.variant_id,
            "model": r.model,
            **axis_values(r),
            **{f"knob_{k}": v for k, v in r.knobs.items()},
        }
        for section, values in (("quality", r.quality), ("perf", r.perf)):
            for metric, v in values.items():
                rows.append(
                    {
                        **base,
                        "section": section,
                        "metric": metric,
                        "value": v.value,
                        "stderr": v.stderr,
                        "ci_low": v.ci_low,
                        "ci_high": v.ci_high,
                        "n": v.n,
                        "unit": v.unit,
                        "higher_is_better": v.higher_is_better,
                    }
                )
    return pd.DataFrame(rows)


def primary_metric(record: Record) -> str:
    """The task's first primary metric (declared in the task file or the adapter's
    default, see harness.metrics.primary), else the first it reports."""
    for name in record.primary_metrics():
        if name in record.quality:
            return name
    return next(iter(record.quality))
