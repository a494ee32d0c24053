"""The deployer's options: per model and task, the variants distinguishably faster than their
base, and which of them to ship under which constraint.

A variant is *faster* only when its speed ratio's interval lies above 1 on the speed the
task's records all report, and never when it runs its base's kernels (its speed equals the
base's by construction). Constraints, each naming the fastest variant that meets it:
no detectable quality loss; a loss within a stated tolerance, judged at the worst end of the
change's interval; the smallest weights with no detectable loss; and, without a quality
constraint, the other faster variants on the model's interval-aware quality-vs-speed frontier.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.core.perf_names import PerfName
from harness.core.values import Value
from harness.report.analysis.speed import interval_pareto, same_kernels, speed_of
from harness.report.analysis.versus import VersusBase
from harness.store.records import Record

TOLERANCE = 0.05  # a quality loss of at most 5% of the base's value, at the interval's worst end


@dataclass(frozen=True)
class Option:
    versus: VersusBase
    speed: tuple[float, float, float]  # candidate/base ratio on the task's speed, with interval
    worst_loss: float  # worst end of the quality change's interval, a fraction of the base

    @property
    def no_loss(self) -> bool:
        verdict = self.versus.quality.verdict
        return verdict == "better" or verdict.startswith("no detectable")


def worst_loss(v: VersusBase) -> float:
    """The loss at the worst end of the change's 95% interval, relative to the base value
    (0 or less: no loss even there)."""
    q = v.quality
    hib = v.base.quality[q.metric].higher_is_better is not False
    loss = -q.low if hib else q.high
    if math.isnan(loss):
        return math.inf
    if q.base == 0:
        return 0.0 if loss <= 0 else math.inf
    return loss / abs(q.base)


def options(found: Sequence[VersusBase], metric: str) -> list[Option]:
    """The distinguishably faster variants, fastest first."""
    out = []
    for v in found:
        r = v.ratios.get(metric)
        if r is None or same_kernels(v.record) or not r[1] > 1 or math.isnan(v.quality.change):
            continue  # a NaN interval (fewer than 3 timed windows) never compares above 1
        out.append(Option(v, r, worst_loss(v)))
    return sorted(out, key=lambda o: (-o.speed[0], o.versus.record.variant_id))


def frontier_names(records: Sequence[Record], base: Record, speed: str, quality: str) -> set[str]:
    """The model's variants on its own quality-vs-speed frontier (speed.interval_pareto)."""
    speeds = [s for r in records if (s := speed_of(r, speed, base)) is not None]
    kept = [s for s in speeds if quality in s.record.quality]
    hib = base.quality[quality].higher_is_better is not False
    front = interval_pareto(kept, [s.record.quality[quality].value for s in kept], hib)
    return {kept[i].record.variant_id for i in front}


def picks(opts: Sequence[Option], front: set[str], tolerance: float) -> list[tuple[str, Option]]:
    """(constraint, option) pairs, each option named once, under its strictest constraint."""
    chosen: list[tuple[str, Option]] = []

    def take(constraint: str, found: Option | None) -> None:
        if found is not None and all(found is not o for _, o in chosen):
            chosen.append((constraint, found))

    take("no detectable quality loss", next((o for o in opts if o.no_loss), None))
    take(
        f"quality loss within {tolerance:.0%} of the base",
        next((o for o in opts if o.worst_loss <= tolerance), None),
    )
    smallest = [o for o in opts if o.no_loss and _weights(o) < 1]
    take(
        "smallest weights, no detectable loss",
        min(smallest, key=_weights) if smallest else None,
    )
    for o in reversed(opts):  # along the frontier: each step buys speed with quality
        if o.versus.record.variant_id in front:
            take("trade-off (on the frontier)", o)
    return chosen


def _weights(o: Option) -> float:
    r = o.versus.ratios.get(PerfName.WEIGHT_BYTES)
    return r[0] if r is not None else math.inf


@dataclass(frozen=True)
class SpeedStanding:
    """Where each compared variant stands against its base on one speed."""

    faster: list[VersusBase]  # interval above 1
    slower: list[VersusBase]  # interval below 1
    tied: list[VersusBase]  # interval includes 1
    unranked: list[VersusBase]  # no interval: it or its base was timed in < 3 windows
    same_kernels: list[VersusBase]  # its base's kernels: equal speed by construction


def speed_standing(found: Sequence[VersusBase], metric: str) -> SpeedStanding:
    standing = SpeedStanding([], [], [], [], [])
    for v in found:
        r = v.ratios.get(metric)
        if same_kernels(v.record):
            standing.same_kernels.append(v)
        elif r is None or math.isnan(r[1]) or math.isnan(r[2]):
            standing.unranked.append(v)
        elif r[1] > 1:
            standing.faster.append(v)
        elif r[2] < 1:
            standing.slower.append(v)
        else:
            standing.tied.append(v)
    return standing


# An exact two-sided sign (McNemar) test needs at least this many samples changing the same
# way before p < 0.05 (2 * 0.5**6 = 0.031): the fewest that can show any change at all.
SIGN_TEST_MIN_CHANGES = 6


def samples_to_detect(change: float, power: float = 0.8) -> int:
    """Samples a per-sample 0/1 metric needs before a true change of `change` (a fraction,
    e.g. 0.1 for ten points) is significant with probability `power`, in the best case
    that every changed answer moves the same way: the smallest n at which at least
    SIGN_TEST_MIN_CHANGES of n answers flip with that probability (0.1 -> 78)."""
    from scipy.stats import binom

    n = SIGN_TEST_MIN_CHANGES
    while binom.sf(SIGN_TEST_MIN_CHANGES - 1, n, change) < power:
        n += 1
    return n


def no_sample_discriminates(value: Value) -> bool:
    """Every sample scored alike: a 0/1 metric at 0 or 1, or any metric with no spread."""
    if value.unit == "fraction":
        return value.value in (0.0, 1.0)
    return value.stderr == 0 or value.ci_low == value.ci_high == value.value


def constant_quality(found: Sequence[VersusBase]) -> bool:
    """Every sample scored alike for the base and every variant scored exactly as the base:
    this sample cannot tell any of them apart (identical answers on samples that do vary
    are a finding, not this)."""
    if not found:
        return False
    base = found[0].base.quality.get(found[0].quality.metric)
    return (
        base is not None
        and no_sample_discriminates(base)
        and all(v.quality.constant and v.quality.value == v.quality.base for v in found)
    )
