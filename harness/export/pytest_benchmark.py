"""Export a run's timings in pytest-benchmark's JSON format, so tools that chart
pytest-benchmark results (its own `compare`, github-action-benchmark, ...) can read them."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any

from harness.core.perf_names import PerfName
from harness.core.perf_specs import PerfKind
from harness.gate.runs import RunData
from harness.store.records import Record


def _stats(times: list[float]) -> dict[str, Any]:
    ordered = sorted(times)
    q1, q3 = (
        statistics.quantiles(ordered, n=4)[0::2] if len(ordered) > 1 else (ordered[0], ordered[0])
    )
    mean = statistics.fmean(ordered)
    return {
        "min": ordered[0],
        "max": ordered[-1],
        "mean": mean,
        "stddev": statistics.stdev(ordered) if len(ordered) > 1 else 0.0,
        "rounds": len(ordered),
        "median": statistics.median(ordered),
        "iqr": q3 - q1,
        "q1": q1,
        "q3": q3,
        "iqr_outliers": 0,
        "stddev_outliers": 0,
        "outliers": "0;0",
        "ld15iqr": ordered[0],
        "hd15iqr": ordered[-1],
        "ops": 1.0 / mean if mean else 0.0,
        "total": sum(ordered),
        "iterations": 1,
        "data": ordered,
    }


def _speeds(record: Record) -> dict[str, float]:
    """The unit's throughputs (work per second), by their specs."""
    return {
        name: value.value
        for name, value in record.perf.items()
        if (spec := record.perf_spec(name)) is not None and spec.kind is PerfKind.SPEED
    }


def to_pytest_benchmark(run: RunData) -> dict[str, Any]:
    env = run.manifest.env
    benchmarks = []
    for (variant, task), record in sorted(run.records.items()):
        wall = record.perf.get(PerfName.WALL_TIME)
        if wall is None:
            continue
        times = wall.repeats or [wall.value]
        benchmarks.append(
            {
                "group": task,
                "name": f"{task}[{variant}]",
                "fullname": f"{record.suite}::{task}[{variant}]",
                "params": dict(record.knobs),
                "param": variant,
                "options": {"timer": "perf_counter", "warmup": True},
                "stats": _stats(times),
                "extra_info": _speeds(record),
            }
        )
    return {
        "machine_info": {
            "node": "",
            "processor": env.cpu,
            "cpu": {"brand_raw": env.cpu, "count": env.logical_cores},
            "python_version": env.python,
        },
        "commit_info": {"id": env.git_sha},
        "benchmarks": benchmarks,
        "datetime": datetime.now(UTC).isoformat(),
        "version": "5.1.0",
    }
