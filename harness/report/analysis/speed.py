"""Speeds you can rank on: medians with their repeat interval, input and output tokens/s
kept apart, and variants that run the same kernels as their base never ranked against it.

Two variants are only called faster or slower than each other when their speed intervals
(min..max over repeats) do not overlap; otherwise they are tied. A speed timed in fewer than
three windows has no interval: it is shown, never ranked, tied or put on a frontier. A
variant whose transform leaves the kernels unchanged (a GGUF round trip dequantizes back to
floats) takes the union of its own and its base's interval: any gap between them is timing
noise, not a property.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.core.perf_names import PerfName
from harness.core.perf_specs import Kernels
from harness.store.records import Record

SPEED_METRICS: dict[str, str] = {
    PerfName.INPUT_TOKENS_PER_S: "input tok/s",
    PerfName.OUTPUT_TOKENS_PER_S: "output tok/s",
}
# Tokens are each model's own: across models (an encoder beside a decoder, two tokenizers) a
# task's frontier is drawn in samples per second, the unit they share.
SPEED_LABELS: dict[str, str] = {**SPEED_METRICS, PerfName.SAMPLES_PER_S: "samples/s"}


def tokenizer_of(record: Record) -> str:
    """What counted a record's tokens, as far as records say: the model's source (a ladder of
    one model shares it; two sources may share a tokenizer, and are then kept apart too)."""
    return record.model_identity.source if record.model_identity else record.model


def comparable_speeds(records: Sequence[Record]) -> dict[str, str]:
    """The speeds a task's records are ranked by: samples/s when their tokens were counted by
    different tokenizers (when every record has it), else input and output tokens/s."""
    if len({tokenizer_of(r) for r in records}) > 1 and all(
        PerfName.SAMPLES_PER_S in r.perf for r in records
    ):
        return {PerfName.SAMPLES_PER_S: SPEED_LABELS[PerfName.SAMPLES_PER_S]}
    return SPEED_METRICS


# Fewer timed windows than this and a speed's min..max says nothing about its spread.
MIN_TIMED_REPEATS = 3


@dataclass(frozen=True)
class Speed:
    record: Record
    metric: str
    value: float
    low: float
    high: float
    same_kernels: bool  # runs its base variant's kernels: speed equal to the base's by design
    timed_windows: int = MIN_TIMED_REPEATS

    @property
    def ranked(self) -> bool:
        """Whether the speed has an interval to rank it by: one or two timed windows say
        nothing about the spread, so such a speed is never called faster, slower or tied."""
        return self.timed_windows >= MIN_TIMED_REPEATS

    @property
    def label(self) -> str:
        if not self.ranked:
            return f"{self.record.variant_id} (timed once: not ranked)"
        return self.record.variant_id + (" (same kernels as base)" if self.same_kernels else "")


def same_kernels(record: Record) -> bool:
    """Runs its base's kernels (a simulated quantization): its speed is the base's."""
    return record.kernels is Kernels.SIMULATED


def speed_of(record: Record, metric: str, base: Record | None = None) -> Speed | None:
    value = record.perf.get(metric)
    if value is None:
        return None
    low = value.ci_low if value.ci_low is not None else value.value
    high = value.ci_high if value.ci_high is not None else value.value
    windows = len(value.repeats or ())
    if windows < MIN_TIMED_REPEATS:
        # no honest interval: the point alone, excluded from every ranking (see `ranked`)
        return Speed(record, metric, value.value, value.value, value.value, False, windows)
    shared = same_kernels(record)
    if shared and base is not None and metric in base.perf:
        other = base.perf[metric]
        low = min(low, other.ci_low if other.ci_low is not None else other.value)
        high = max(high, other.ci_high if other.ci_high is not None else other.value)
    return Speed(record, metric, value.value, low, high, shared, windows)


def separated(a: Speed, b: Speed) -> bool:
    """Whether the two speeds' intervals do not overlap."""
    return a.low > b.high or b.low > a.high


def fastest(speeds: Sequence[Speed]) -> tuple[list[Speed], bool]:
    """Among the ranked speeds, the variants tied for fastest (intervals overlapping the top
    one's), and whether the top group is separated from all the other ranked ones."""
    ranked = [s for s in speeds if s.ranked]
    if not ranked:
        return [], False
    top = max(ranked, key=lambda s: s.value)
    tied = [s for s in ranked if not separated(s, top)]
    return sorted(tied, key=lambda s: -s.value), len(tied) < len(ranked)


def interval_pareto(speeds: Sequence[Speed], quality: Sequence[float], hib: bool) -> list[int]:
    """Indices of the quality-vs-speed frontier where a variant is dominated only by one at
    least as good in quality that is not distinguishably slower, and better in quality or
    distinguishably faster. Only ranked speeds take part: a speed without an interval can
    neither dominate nor be placed on the frontier."""
    q = [x if hib else -x for x in quality]
    front = []
    for i, si in enumerate(speeds):
        if not si.ranked:
            continue
        dominated = any(
            q[j] >= q[i] and sj.high >= si.low and (q[j] > q[i] or sj.low > si.high)
            for j, sj in enumerate(speeds)
            if j != i and sj.ranked
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: speeds[i].value)
