"""Perf comparisons: repeated measurements of the same unit on matching hardware.

With `perf.relative` (the default) the change is the candidate/baseline ratio of median
speeds (times are inverted so that below 1 is always slower); without it, the change is the
absolute difference of medians in the metric's own unit. Either way the bootstrap interval's
optimistic end must clear the tolerance for a failure.
"""

from __future__ import annotations

import numpy as np

from harness.core.perf_specs import PerfSpec
from harness.gate.model import Comparison, Status
from harness.gate.rules import GateRules
from harness.gate.runs import RunData
from harness.hardware.fingerprint import hardware_key
from harness.store.records import Record

MIN_REPEATS = 3


def _hardware(run: RunData, record: Record) -> str:
    """The measuring machine: the record's own fingerprint (units of a cluster run land on
    different nodes), else the run's manifest (records written before records had one)."""
    return hardware_key(record.env or run.manifest.env)


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
                continue
            spec, other_spec = record.perf_spec(metric), other.perf_spec(metric)
            differs = measured_differently(spec, other_spec)
            if differs:
                detail = f"measured differently ({differs}): not comparable (fails closed)"
                out.append(Comparison("perf", task, variant, metric, "inconclusive", detail))
                continue
            old, new = record.perf[metric], other.perf[metric]
            higher = (spec.higher_is_better if spec else old.higher_is_better) is not False
            unit = old.unit
            out.append(
                _perf_change(task, variant, metric, (old.repeats, new.repeats), higher, unit, rules)
            )
    return out


def measured_differently(base: PerfSpec | None, cand: PerfSpec | None) -> str:
    """What makes the two figures different measurements (unit, phase, scope, kernels); ""
    when they measure the same thing."""
    if base is None or cand is None:
        return ""
    fields = ("unit", "phase", "scope", "kernels")
    return "; ".join(
        f"{f} {getattr(base, f)} vs {getattr(cand, f)}"
        for f in fields
        if getattr(base, f) != getattr(cand, f)
    )


def _perf_change(
    task: str,
    variant: str,
    metric: str,
    repeats: tuple[list[float] | None, list[float] | None],
    higher_is_better: bool,
    unit: str,
    rules: GateRules,
) -> Comparison:
    base, cand = repeats
    if not base or not cand or min(len(base), len(cand)) < MIN_REPEATS:
        detail = (
            f"needs at least {MIN_REPEATS} repeated measurements on each side "
            "(set the suite's timing.min_repeats)"
        )
        return Comparison("perf", task, variant, metric, "skipped", detail)
    rng = np.random.default_rng(rules.seed)
    b, c = np.asarray(base, dtype=float), np.asarray(cand, dtype=float)
    # all resamples at once: one median per row (a Python loop of medians cost seconds per
    # hundred units)
    b_med = np.median(rng.choice(b, (rules.n_bootstrap, b.size)), axis=1)
    c_med = np.median(rng.choice(c, (rules.n_bootstrap, c.size)), axis=1)
    pairs = list(zip(b_med.tolist(), c_med.tolist(), strict=True))
    tail = (1 - rules.confidence) * 100
    if rules.perf.relative:
        # speed ratio candidate/baseline; for times the inverse
        change = [(cm / bm if higher_is_better else bm / cm) for bm, cm in pairs]
        point = (
            float(np.median(c) / np.median(b))
            if higher_is_better
            else float(np.median(b) / np.median(c))
        )
        drops = [1 - r for r in change]
        what = f"candidate/baseline speed ratio {point:.3f}"
        low, high = np.percentile(change, [tail, 100 - tail])
        interval = f"[{float(low):.3f}, {float(high):.3f}]"
    else:
        sign = 1.0 if higher_is_better else -1.0
        drops = [sign * (bm - cm) for bm, cm in pairs]
        point = sign * float(np.median(b) - np.median(c))
        what = f"drop of medians {point:.4g} {unit} (absolute tolerance)"
        low, high = np.percentile(drops, [tail, 100 - tail])
        interval = f"[{float(low):.4g}, {float(high):.4g}]"
    smallest = float(np.percentile(drops, tail))  # the smallest drop consistent with the data
    status: Status = "fail" if smallest > rules.perf.max_drop else "pass"
    return Comparison(
        "perf",
        task,
        variant,
        metric,
        status,
        f"{what} {interval}",
        tolerance=rules.perf,
        extra={"ratio" if rules.perf.relative else "drop": point},
    )
