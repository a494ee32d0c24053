"""Baseline vs candidate, per (task, variant, metric): paired quality tests with Holm
control, perf ratios where the hardware matches, and fail-closed handling of gaps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from harness.gate.paired import PairedResult, holm, mcnemar, paired_bootstrap
from harness.gate.rules import GateRules, Tolerance
from harness.gate.runs import RunData
from harness.metrics.catalog import all_metrics
from harness.profilers.environment import hardware_key
from harness.records import Record

Status = Literal["pass", "fail", "skipped", "missing", "new"]
MIN_REPEATS = 3


@dataclass
class Comparison:
    kind: Literal["quality", "perf"]
    task: str
    variant_id: str
    metric: str
    status: Status
    detail: str = ""
    result: PairedResult | None = None
    tolerance: Tolerance | None = None
    extra: dict[str, float] = field(default_factory=dict)


def _paired(
    base: RunData, cand: RunData, key: tuple[str, str], metric: str, rules: GateRules
) -> Comparison:
    variant, task = key
    tol = rules.tolerance(task, metric)
    found = all_metrics().get(metric)
    if found is None:
        return Comparison(
            "quality",
            task,
            variant,
            metric,
            "skipped",
            "no per-sample reducer known for this metric",
            tolerance=tol,
        )
    b_rows, c_rows = base.samples.get(key, {}), cand.samples.get(key, {})
    common = sorted(set(b_rows) & set(c_rows))
    if not common:
        return Comparison(
            "quality",
            task,
            variant,
            metric,
            "fail",
            "no sample ids in common: the runs are not comparable",
            tolerance=tol,
        )
    b = [b_rows[i] for i in common]
    c = [c_rows[i] for i in common]
    field_ = found.mean_of
    binary = field_ is not None and all(r[field_] in (0.0, 1.0) for r in (*b, *c))
    if binary and tol.max_drop == 0 and found.higher_is_better and field_ is not None:
        result = mcnemar([r[field_] for r in b], [r[field_] for r in c], rules.confidence)
    else:
        result = paired_bootstrap(
            b,
            c,
            found.reduce,
            found.higher_is_better,
            tol.max_drop,
            tol.relative,
            rules.confidence,
            rules.n_bootstrap,
            rules.seed,
        )
    note = f"{len(common)} paired samples"
    return Comparison("quality", task, variant, metric, "pass", note, result, tol)


def compare_quality(base: RunData, cand: RunData, rules: GateRules) -> list[Comparison]:
    out: list[Comparison] = []
    for key, record in sorted(base.records.items()):
        variant, task = key
        other = cand.records.get(key)
        for metric in record.quality:
            if other is None or metric not in other.quality:
                what = "variant/task" if other is None else "metric"
                out.append(
                    Comparison(
                        "quality",
                        task,
                        variant,
                        metric,
                        "missing",
                        f"{what} absent from the candidate (fails closed)",
                    )
                )
            else:
                out.append(_paired(base, cand, key, metric, rules))
    tested = [c for c in out if c.result is not None]
    rejected = holm([c.result.p_value for c in tested if c.result], 1 - rules.confidence)
    for comparison, reject in zip(tested, rejected, strict=True):
        if reject:
            comparison.status = "fail"
    out += [
        Comparison("quality", t, v, m, "new", "only in the candidate")
        for (v, t), rec in sorted(cand.records.items())
        for m in rec.quality
        if (v, t) not in base.records
    ]
    return out


def _hardware(run: RunData, record: Record) -> str:
    """The measuring machine: the record's own fingerprint (units of a cluster run land on
    different nodes), else the run's manifest (records written before records had one)."""
    return hardware_key(record.env or run.manifest.get("env", {}))


def compare_perf(base: RunData, cand: RunData, rules: GateRules) -> list[Comparison]:
    out = []
    for key, record in sorted(base.records.items()):
        variant, task = key
        other = cand.records.get(key)
        hw_base = _hardware(base, record)
        hw_cand = _hardware(cand, other) if other is not None else hw_base
        for metric in rules.perf_metrics:
            if metric not in record.perf:
                continue
            if other is None or metric not in other.perf or hw_base != hw_cand:
                status: Status = "skipped" if other and metric in other.perf else "missing"
                detail = (
                    "absent from the candidate (fails closed)"
                    if status == "missing"
                    else f"hardware differs: {hw_base} vs {hw_cand}"
                )
                out.append(Comparison("perf", task, variant, metric, status, detail))
            else:
                old, new = record.perf[metric].repeats, other.perf[metric].repeats
                if record.perf[metric].higher_is_better is False:  # times: compare speeds
                    old, new = new, old
                out.append(_perf_ratio(task, variant, metric, old, new, rules))
    return out


def _perf_ratio(
    task: str,
    variant: str,
    metric: str,
    base: list[float] | None,
    cand: list[float] | None,
    rules: GateRules,
) -> Comparison:
    if not base or not cand or min(len(base), len(cand)) < MIN_REPEATS:
        return Comparison(
            "perf",
            task,
            variant,
            metric,
            "skipped",
            f"needs at least {MIN_REPEATS} repeated measurements on each side "
            "(set the suite's timing.min_repeats)",
        )
    rng = np.random.default_rng(rules.seed)
    b, c = np.asarray(base), np.asarray(cand)
    ratios = [
        np.median(rng.choice(c, c.size)) / np.median(rng.choice(b, b.size))
        for _ in range(rules.n_bootstrap)
    ]
    tail = (1 - rules.confidence) * 100
    high = float(np.percentile(ratios, 100 - tail))  # optimistic end of the slowdown
    ratio = float(np.median(c) / np.median(b))
    slow = 1 - high  # the smallest slowdown consistent with the data
    status: Status = "fail" if slow > rules.perf.max_drop else "pass"
    return Comparison(
        "perf",
        task,
        variant,
        metric,
        status,
        f"candidate/baseline median ratio {ratio:.3f} "
        f"[{float(np.percentile(ratios, tail)):.3f}, {high:.3f}]",
        tolerance=rules.perf,
        extra={"ratio": ratio},
    )
