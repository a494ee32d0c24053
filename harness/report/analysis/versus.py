"""Each variant against its base variant (same model and task, no transform): what do I
lose, what do I gain. Quality change from a paired bootstrap over the shared samples, with
a verdict; speed and memory changes as ratios of medians with bootstrap intervals over the
timed repeats."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from harness.core.perf_names import PerfName
from harness.core.perf_specs import Scope
from harness.core.values import Value
from harness.report.analysis.aggregate import primary_metric
from harness.report.analysis.scaling import is_base
from harness.report.analysis.speed import MIN_TIMED_REPEATS
from harness.store.records import Record
from harness.variants.base import OFFERED_LOAD, knobs_along

SampleScores = Mapping[tuple[str, str], Mapping[str, Mapping[str, float]]]
N_BOOT = 1000
Ratio = tuple[float, float, float]  # point, low, high
# z(0.975) + z(0.80) over z(0.975): a 95% interval's half-width scaled to the change that
# 80% of repeated experiments would detect
POWER_FACTOR = (1.959964 + 0.841621) / 1.959964


@dataclass(frozen=True)
class QualityChange:
    metric: str
    base: float
    value: float
    change: float  # candidate - base, in the metric's unit
    low: float
    high: float
    verdict: str  # "better", "worse" or "no detectable change at n = N"
    method: str

    @property
    def detectable(self) -> float | None:
        """The smallest change this comparison would detect with 80% power at the 5% level:
        (1.96 + 0.84) / 1.96 of the interval's half-width (the normal approximation behind
        any minimum-detectable-effect figure). None without an interval."""
        width = self.high - self.low
        if math.isnan(width):
            return None
        return POWER_FACTOR * width / 2

    @property
    def constant(self) -> bool:
        """Every paired difference was zero: the interval is a point at 0, which says the
        sample cannot tell the two apart, not that they are certainly equal."""
        return self.change == self.low == self.high == 0.0


@dataclass(frozen=True)
class VersusBase:
    record: Record
    base: Record
    quality: QualityChange
    ratios: dict[str, Ratio | None]  # perf metric -> candidate/base ratio with interval


LOAD_KNOBS = knobs_along(OFFERED_LOAD)


def _load(record: Record) -> tuple[float, ...]:
    return tuple(float(record.knobs.get(k, 0) or 0) for k in LOAD_KNOBS)


def base_records(records: Sequence[Record]) -> dict[tuple[str, str], Record]:
    """Each (model, task)'s reference: the unmodified variant at the lightest load (a served
    sweep compares every load level with the lightest), or, where every variant carries a
    quantization level (a llama.cpp ladder), the one with the most bits per weight."""
    groups: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        groups.setdefault((r.model, r.task), []).append(r)
    out: dict[tuple[str, str], Record] = {}
    for key, recs in groups.items():
        plain = [r for r in recs if is_base(r)]
        with_bits = [r for r in recs if PerfName.BITS_PER_WEIGHT in r.perf]
        if plain:
            out[key] = min(plain, key=lambda r: (_load(r), r.variant_id))
        elif len(recs) > 1 and with_bits:
            out[key] = max(
                with_bits, key=lambda r: (r.perf[PerfName.BITS_PER_WEIGHT].value, r.variant_id)
            )
    return out


def _verdict(low: float, high: float, higher_is_better: bool, n: int) -> str:
    better_low, better_high = (low, high) if higher_is_better else (-high, -low)
    if better_low > 0:
        return "better"
    if better_high < 0:
        return "worse"
    return f"no detectable change at n = {n}"


def quality_change(record: Record, base: Record, samples: SampleScores, seed: int) -> QualityChange:
    metric = primary_metric(base)
    old, new = base.quality[metric], record.quality.get(metric)
    hib = old.higher_is_better is not False
    if new is None:
        nan = float("nan")
        return QualityChange(metric, old.value, nan, nan, nan, nan, "metric missing", "—")
    b_rows = samples.get((base.variant_id, base.task), {})
    c_rows = samples.get((record.variant_id, record.task), {})
    common = sorted(set(b_rows) & set(c_rows))
    found = base.metric_spec(metric)
    if found is None or not found.recomputable or len(common) < 2:
        return _unpaired(metric, old, new, hib)
    b = [b_rows[i] for i in common]
    c = [c_rows[i] for i in common]
    rng = np.random.default_rng(seed)
    draws = [
        found.reduce([c[i] for i in idx]) - found.reduce([b[i] for i in idx])
        for idx in rng.integers(0, len(common), size=(N_BOOT, len(common)))
    ]
    arr = np.asarray([d for d in draws if np.isfinite(d)])
    low, high = (float(x) for x in np.percentile(arr, [2.5, 97.5]))
    change = found.reduce(c) - found.reduce(b)
    verdict = _verdict(low, high, hib, len(common))
    method = f"paired bootstrap over {len(common)} shared samples"
    return QualityChange(metric, old.value, new.value, change, low, high, verdict, method)


def _unpaired(metric: str, old: Value, new: Value, hib: bool) -> QualityChange:
    """Without per-sample scores: the CIs must not overlap for a verdict."""
    change = new.value - old.value
    if None in (old.ci_low, old.ci_high, new.ci_low, new.ci_high):
        n = new.n or 0
        return QualityChange(
            metric,
            old.value,
            new.value,
            change,
            change,
            change,
            f"no detectable change at n = {n}" if change == 0 else "no interval",
            "no CI",
        )
    assert old.ci_low is not None and old.ci_high is not None
    assert new.ci_low is not None and new.ci_high is not None
    low, high = new.ci_low - old.ci_high, new.ci_high - old.ci_low
    verdict = _verdict(low, high, hib, new.n or 0)
    return QualityChange(metric, old.value, new.value, change, low, high, verdict, "unpaired CIs")


def ratio(
    base: Value | None, cand: Value | None, seed: int, deterministic: bool = False
) -> Ratio | None:
    """Candidate/base ratio of medians, with a 95% bootstrap interval over the repeats; a
    deterministic quantity (weight bytes, parameters: a fact of the variant, the same in
    every window) is exact, whatever number of windows recorded it."""
    if base is None or cand is None or not base.value:
        return None
    b = np.asarray(base.repeats or [base.value], dtype=float)
    c = np.asarray(cand.repeats or [cand.value], dtype=float)
    point = float(np.median(c) / np.median(b))
    if deterministic or (not base.repeats and not cand.repeats):
        return point, point, point
    if min(b.size, c.size) < MIN_TIMED_REPEATS:  # a measurement without an interval
        return point, math.nan, math.nan
    rng = np.random.default_rng(seed)
    draws = [
        np.median(rng.choice(c, c.size)) / np.median(rng.choice(b, b.size)) for _ in range(N_BOOT)
    ]
    low, high = np.percentile(draws, [2.5, 97.5])
    return point, float(low), float(high)


RATIO_METRICS = (
    PerfName.INPUT_TOKENS_PER_S,
    PerfName.OUTPUT_TOKENS_PER_S,
    PerfName.PEAK_RSS,
    PerfName.WEIGHT_BYTES,
)


def versus_base(records: Sequence[Record], samples: SampleScores, seed: int) -> list[VersusBase]:
    bases = base_records(records)
    out = []
    for r in sorted(records, key=lambda r: (r.task, r.variant_id)):
        base = bases.get((r.model, r.task))
        if base is None or base.variant_id == r.variant_id:
            continue
        ratios: dict[str, tuple[float, float, float] | None] = {
            m: ratio(base.perf.get(m), r.perf.get(m), seed, _deterministic(r, m))
            for m in RATIO_METRICS
        }
        out.append(VersusBase(r, base, quality_change(r, base, samples, seed), ratios))
    return out


def _deterministic(record: Record, name: str) -> bool:
    """A fact of the variant or the machine (its spec's scope), not a timed measurement."""
    spec = record.perf_spec(name)
    return spec is not None and spec.scope in (Scope.VARIANT, Scope.MACHINE)
