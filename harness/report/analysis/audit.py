"""The invariance audit: per sample, does a configuration that should not change results
(another batch size, engine, dtype) answer as its family's base does, beyond the noise floor
(the base run again)?

For each audited configuration against the base, over the samples both scored:
  flips           samples whose answer differs (choice: the argmax label; generation: the
                  text); correct->wrong and wrong->correct split them
  drift           |log-likelihood difference| per sample: the largest over a question's
                  choices (nats per choice), or of a perplexity text's mean per scored token
Two one-sided paired tests against the noise floor, sample by sample: an exact sign test on
the samples that flip in one comparison and not the other (McNemar), and a Wilcoxon
signed-rank test of drift against the noise floor's drift. Their p-values are Holm-adjusted
over the task's comparisons. A configuration *exceeds* the noise floor when its flips do, or
when its drift does and its median drift is above the tolerance (fp32 sums reassociated by
another batch shape move by ~1e-6 nats: beyond an exactly repeatable floor, and harmless).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from harness.report.analysis.audit_signals import (
    MIN_FOR_TEST,
    Rows,
    correct_of,
    drift,
    flipped,
    sign_test,
    signed_rank,
)
from harness.store.records import Record
from harness.suite.schema import InvarianceConfig


@dataclass(frozen=True)
class PairAudit:
    """One configuration against its family's base on one task."""

    config: str  # the audited variant id
    noise_floor: bool  # this is the base run again
    n: int  # samples both scored
    flips: int | None  # None: the task has no discrete answer (perplexity)
    correct_to_wrong: int | None
    wrong_to_correct: int | None
    drift_median: float | None  # None: no log-likelihoods in the rows (generation)
    drift_p99: float | None
    drift_max: float | None
    p_flips: float | None  # Holm-adjusted, one-sided, against the noise floor
    p_drift: float | None
    exceeds: bool  # beyond what the noise floor explains (see the module docstring)
    reason: str  # why, in words
    drift_values: tuple[float, ...] = ()  # per sample, for the report's distribution plot


@dataclass(frozen=True)
class TaskAudit:
    task: str
    base: str
    noise: str | None  # the base's repeat; None: not in the run (compared with exact equality)
    drift_unit: str
    configs: tuple[str, ...]  # base first, then the audited ones in run order
    flip_matrix: tuple[tuple[int, ...], ...] | None  # flips between every two configs
    pairs: tuple[PairAudit, ...]
    tolerance: float
    alpha: float


@dataclass(frozen=True)
class _Measured:
    config: str
    n: int
    flips: np.ndarray | None
    drift: np.ndarray | None
    correct: tuple[int, int] | None  # (correct -> wrong, wrong -> correct)


def _measure(config: str, base: Rows, rows: Rows, ids: Sequence[str]) -> _Measured:
    turns = None
    before = [correct_of(base[i]) for i in ids]
    after = [correct_of(rows[i]) for i in ids]
    if all(v is not None for v in (*before, *after)):
        turns = (
            sum(b == 1.0 and a == 0.0 for b, a in zip(before, after, strict=True)),
            sum(b == 0.0 and a == 1.0 for b, a in zip(before, after, strict=True)),
        )
    return _Measured(config, len(ids), flipped(base, rows, ids), drift(base, rows, ids), turns)


def _quantile(values: np.ndarray | None, q: float) -> float | None:
    return None if values is None or not len(values) else float(np.quantile(values, q))


def _judge(
    m: _Measured,
    floor: _Measured,
    p_flips: float | None,
    p_drift: float | None,
    c: InvarianceConfig,
) -> tuple[bool, str]:
    median = _quantile(m.drift, 0.5)
    if p_flips is not None and p_flips < c.alpha and m.flips is not None:
        noise = int(floor.flips.sum()) if floor.flips is not None else 0
        return True, (
            f"{int(m.flips.sum())} of {m.n} answers flip, {noise} in the noise floor "
            f"(p = {p_flips:.2g})"
        )
    if p_drift is not None and p_drift < c.alpha and median is not None:
        noise_median = _quantile(floor.drift, 0.5) or 0.0
        if median > c.drift_tolerance:
            return True, (
                f"log-likelihoods drift by {median:.2g} (median), {noise_median:.2g} in the "
                f"noise floor (p = {p_drift:.2g})"
            )
        return False, (
            f"drift beyond the noise floor (p = {p_drift:.2g}) but its median {median:.2g} "
            f"is within the tolerance {c.drift_tolerance:g}"
        )
    return False, "within the noise floor"


def _units_of(task: str, base: str, records: Sequence[Record]) -> list[Record]:
    group = [r for r in records if r.task == task and r.audit_base == base]
    return sorted(group, key=lambda r: r.variant_id != base)  # base first, run order kept


def _noise_of(base: Record, group: Sequence[Record]) -> Record | None:
    plain = {k: v for k, v in base.knobs.items() if k != "repeat"}
    return next(
        (
            r
            for r in group
            if r is not base
            and r.model == base.model
            and "repeat" in r.knobs
            and {k: v for k, v in r.knobs.items() if k != "repeat"} == plain
        ),
        None,
    )


def _flip_matrix(
    group: Sequence[Record], rows: Mapping[tuple[str, str], Rows]
) -> tuple[tuple[int, ...], ...] | None:
    units = [rows.get(r.unit_key, {}) for r in group]
    ids = sorted(set.intersection(*(set(u) for u in units)))
    out = []
    for a in units:
        line = []
        for b in units:
            flips = flipped(a, b, ids)
            if flips is None:
                return None
            line.append(int(flips.sum()))
        out.append(tuple(line))
    return tuple(out)


def _drift_unit(rows: Rows) -> str:
    first = next(iter(rows.values()), None)
    if first is None or "logprobs" in first.output:
        return "nats per choice"
    return "nats per token" if "logprob" in first.scores else "no log-likelihoods"


def audit_task(
    task: str,
    base_id: str,
    records: Sequence[Record],
    rows: Mapping[tuple[str, str], Rows],
    config: InvarianceConfig,
) -> TaskAudit | None:
    """The audit of one family on one task; None when the base did not run it."""
    group = _units_of(task, base_id, records)
    if not group or group[0].variant_id != base_id or len(group) < MIN_FOR_TEST:
        return None
    base, noise = group[0], _noise_of(group[0], group)
    base_rows = rows.get(base.unit_key, {})
    noise_rows = rows.get(noise.unit_key, {}) if noise else base_rows
    measured: list[tuple[_Measured, _Measured]] = []
    for record in group[1:]:
        mine = rows.get(record.unit_key, {})
        ids = sorted(set(base_rows) & set(mine) & set(noise_rows))
        measured.append(
            (
                _measure(record.variant_id, base_rows, mine, ids),
                _measure(noise.variant_id if noise else base_id, base_rows, noise_rows, ids),
            )
        )
    return TaskAudit(
        task,
        base_id,
        noise.variant_id if noise else None,
        _drift_unit(base_rows),
        tuple(r.variant_id for r in group),
        _flip_matrix(group, rows),
        _judged(measured, noise.variant_id if noise else None, config),
        config.drift_tolerance,
        config.alpha,
    )


def _tests(m: _Measured, floor: _Measured) -> tuple[float | None, float | None]:
    p_flips = None
    if m.flips is not None and floor.flips is not None:
        p_flips = sign_test(m.flips, floor.flips)
    p_drift = None
    if m.drift is not None and floor.drift is not None:
        p_drift = signed_rank(m.drift, floor.drift)
    return p_flips, p_drift


def _holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (monotone, capped at 1)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    out, running = [1.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        out[i] = running
    return out


def _judged(
    measured: Sequence[tuple[_Measured, _Measured]], noise: str | None, c: InvarianceConfig
) -> tuple[PairAudit, ...]:
    raw = [(None, None) if m.config == noise else _tests(m, f) for m, f in measured]
    flat = [p for pair in raw for p in pair if p is not None]
    adjusted = iter(_holm_adjusted(flat))
    out = []
    for (m, floor), pair in zip(measured, raw, strict=True):
        p_flips, p_drift = (None if p is None else next(adjusted) for p in pair)
        exceeds, reason = _judge(m, floor, p_flips, p_drift, c)
        if m.config == noise:
            reason = "the noise floor: the base loaded and run again"
        elif noise is None:
            reason += " (no repeat of the base in the run: compared with exact equality)"
        out.append(
            PairAudit(
                m.config,
                m.config == noise,
                m.n,
                None if m.flips is None else int(m.flips.sum()),
                None if m.correct is None else m.correct[0],
                None if m.correct is None else m.correct[1],
                _quantile(m.drift, 0.5),
                _quantile(m.drift, 0.99),
                _quantile(m.drift, 1.0),
                p_flips,
                p_drift,
                exceeds,
                reason,
                () if m.drift is None else tuple(float(v) for v in m.drift),
            )
        )
    return tuple(out)


def audit_run(
    records: Sequence[Record], rows: Mapping[tuple[str, str], Rows], config: InvarianceConfig
) -> list[TaskAudit]:
    """Every (task, family) audit of a run, in the order the records were written."""
    keys = dict.fromkeys((r.task, r.audit_base) for r in records if r.audit_base is not None)
    found = (audit_task(task, base, records, rows, config) for task, base in keys if base)
    return [a for a in found if a is not None]
