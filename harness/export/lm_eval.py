"""A run's quality results in lm-evaluation-harness's results JSON, one file per variant.

lm-eval writes `results[task]["<metric>,<filter>"]` with `"<metric>_stderr,<filter>"`
beside it, plus `versions`, `n-shot`, `higher_is_better` and `n-samples`; tools built on its
output (leaderboard parsers, Zeno, its own table printer) read these keys. Metric names follow
lm-eval's where one exists (`acc`, `acc_norm`); the filter is `none`. Intervals have no place
in that format: they stay in limitbench's own records.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from harness.export.flat import ExportRun
from harness.store.records import Record

# limitbench metric -> lm-eval's name for the same quantity
LM_EVAL_NAMES = {"accuracy": "acc", "accuracy_norm": "acc_norm"}
FILTER = "none"


def _task_results(record: Record) -> dict[str, Any]:
    out: dict[str, Any] = {"alias": record.task}
    for name, value in sorted(record.quality.items()):
        key = LM_EVAL_NAMES.get(name, name)
        out[f"{key},{FILTER}"] = value.value
        out[f"{key}_stderr,{FILTER}"] = value.stderr if value.stderr is not None else "N/A"
    return out


def to_lm_eval(run: ExportRun) -> dict[str, dict[str, Any]]:
    """Variant id -> the results JSON lm-eval would write for that model."""
    by_variant: dict[str, list[Record]] = defaultdict(list)
    for record in run.records:
        by_variant[record.variant_id].append(record)
    tasks = run.manifest.tasks
    out = {}
    for variant_id, records in sorted(by_variant.items()):
        first = records[0]
        out[variant_id] = {
            "results": {r.task: _task_results(r) for r in records},
            "versions": {r.task: r.task_version for r in records},
            "n-shot": {r.task: _shots(run, r.task) for r in records},
            "higher_is_better": {
                r.task: {LM_EVAL_NAMES.get(n, n): v.higher_is_better for n, v in r.quality.items()}
                for r in records
            },
            "n-samples": {
                r.task: {"original": tasks[r.task].n_available, "effective": tasks[r.task].n}
                for r in records
                if r.task in tasks
            },
            "config": {
                "model": "limitbench",
                "model_args": variant_id,
                "model_name": first.model,
                "knobs": first.knobs,
                "n_params": first.n_params,
            },
            "model_name": variant_id,
            "date": first.started_at,
            "limitbench": {"run_id": run.manifest.run_id, "suite": run.manifest.suite},
        }
    return out


def _shots(run: ExportRun, task: str) -> int | str:
    """k of the task's few-shot block, from the task file the run used ("unknown" when that
    file is gone)."""
    from pathlib import Path

    from harness.suite.schema import load_task_file

    entry = run.manifest.tasks.get(task)
    if entry is None or not Path(entry.path).is_file():
        return "unknown"
    return load_task_file(Path(entry.path)).fewshot.k
