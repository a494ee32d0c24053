"""Baseline vs candidate, per (task, variant, metric): paired quality tests with Holm
control over each task's primary metrics, a power check that turns comparisons unable to see
a drop into "inconclusive", perf changes where the hardware matches, and fail-closed handling
of gaps (missing units, partial sample overlap)."""

from __future__ import annotations

import math

from harness.gate.model import Comparison, Role
from harness.gate.paired import holm, mcnemar, paired_bootstrap
from harness.gate.perf import compare_perf
from harness.gate.resample import resampler
from harness.gate.rules import GateRules
from harness.gate.runs import RunData

__all__ = ["Comparison", "compare_perf", "compare_quality"]


def _overlap_problem(base_ids: set[str], cand_ids: set[str], common: list[str]) -> str | None:
    if not common:
        return "no sample ids in common: the runs are not comparable"
    if len(common) == len(base_ids) == len(cand_ids):
        return None
    return (
        f"partial overlap: {len(common)} of the baseline's {len(base_ids)} sample ids are in "
        f"the candidate ({len(cand_ids)} ids); the runs sampled different rows. Rerun with the "
        "same suite, seed and n, or allow it with a rule `partial_overlap: allow`"
    )


def _paired(
    base: RunData, cand: RunData, key: tuple[str, str], metric: str, rules: GateRules
) -> Comparison:
    variant, task = key
    tol = rules.tolerance(task, metric)
    found = base.records[key].metric_spec(metric)
    if found is None or not found.recomputable:
        detail = "no per-sample reducer known for this metric"
        if found is not None:
            detail = "its per-sample scores (gated by the SLO) are not stored"
        return Comparison("quality", task, variant, metric, "skipped", detail, tolerance=tol)
    b_rows, c_rows = base.samples.get(key, {}), cand.samples.get(key, {})
    common = sorted(set(b_rows) & set(c_rows))
    problem = _overlap_problem(set(b_rows), set(c_rows), common)
    if problem and (not common or tol.partial_overlap == "fail"):
        return Comparison("quality", task, variant, metric, "fail", problem, tolerance=tol)
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
            resampler(found.reducer),
        )
    note = f"{len(common)} paired samples" + (f"; {problem}" if problem else "")
    found_ = Comparison("quality", task, variant, metric, "pass", note, result, tol)
    found_.n_paired = len(common)
    return found_


def underpowered(c: Comparison) -> str | None:
    """Why this comparison could not have seen a drop of the size that matters, or None."""
    r, tol = c.result, c.tolerance
    if r is None or tol is None or not math.isfinite(r.mde):
        return None
    target = tol.detect_target(r.baseline)
    if target <= 0 or r.mde <= target:
        return None
    n = c.n_paired
    needed = math.ceil(n * (r.mde / target) ** 2) if n else None
    advice = f"; use n >= {needed}" if needed else ""
    return (
        f"underpowered: n = {n} detects only drops >= {r.mde:.3g} "
        f"(must detect {target:.3g}){advice}"
    )


def _family(c: Comparison, rules: GateRules) -> tuple[str, ...]:
    if rules.family == "unit":
        return (c.task, c.variant_id)
    return (c.task,) if rules.family == "task" else ()


def _judge(tested: list[Comparison], rules: GateRules) -> None:
    """Holm within each family of primary comparisons (see GateRules.family); secondaries
    are reported at their own level. `underpowered: warn` softens only what Holm did not
    reject: a significant drop always fails."""
    alpha = 1 - rules.confidence
    families: dict[tuple[str, ...], list[Comparison]] = {}
    for c in tested:
        if c.role == "primary" and c.result is not None:
            families.setdefault(_family(c, rules), []).append(c)
    for members in families.values():
        rejected = holm([c.result.p_value for c in members if c.result], alpha)
        for comparison, reject in zip(members, rejected, strict=True):
            size = f"Holm family of {len(members)}"
            comparison.detail = f"{size}; {comparison.detail}"
            why = underpowered(comparison)
            if reject:
                comparison.status = "fail"
            elif why and comparison.tolerance is not None:
                action = comparison.tolerance.underpowered
                comparison.status = "inconclusive" if action == "fail" else "warn"
                comparison.detail = f"{why}; {comparison.detail}"
    for comparison in (c for c in tested if c.role == "secondary"):
        r = comparison.result
        if r is not None and r.p_value <= alpha:
            comparison.status = "warn"
            comparison.detail = (
                f"secondary metric: drop significant before correction (p = {r.p_value:.3g}), "
                f"not gating; {comparison.detail}"
            )


def compare_quality(base: RunData, cand: RunData, rules: GateRules) -> list[Comparison]:
    out: list[Comparison] = []
    for key, record in sorted(base.records.items()):
        variant, task = key
        other = cand.records.get(key)
        primary = record.primary_metrics()
        for metric in record.quality:
            role: Role = "primary" if metric in primary else "secondary"
            if other is None or metric not in other.quality:
                what = "variant/task" if other is None else "metric"
                detail = f"{what} absent from the candidate (fails closed)"
                out.append(Comparison("quality", task, variant, metric, "missing", detail))
            else:
                out.append(_paired(base, cand, key, metric, rules))
            out[-1].role = role
    _judge([c for c in out if c.result is not None and c.status == "pass"], rules)
    out += [
        Comparison("quality", t, v, m, "new", "only in the candidate")
        for (v, t), rec in sorted(cand.records.items())
        for m in rec.quality
        if (v, t) not in base.records
    ]
    return out
