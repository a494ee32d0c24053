"""Which samples the extra timed windows repeat, and how their spread becomes an interval.

The first window runs every sample: its responses are scored and its figures are the record's
values. A speed needs an interval, which needs repeated windows; repeating the whole task
three times costs three passes (a 300-document perplexity task: 332 s for the command against
105 s for one pass). So by default the extra windows run a bounded subset, chosen by size
(every k-th sample in order of request length, so short and long samples are both in it), and
their relative spread is carried to the full pass's value: each repeat is rescaled by
value / median of the repeats. That assumes the noise is relative and no larger on the full
pass than on a window of a tenth of it (a longer window averages more); the record says how
it was done. `timing.repeat_fraction: 1` repeats every sample, as v0.2 did.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from harness.core.perf_names import Percentiled, percentile_name
from harness.core.requests import Embed, Generate, LogLikelihood, Request, RollingLogLikelihood
from harness.core.values import Value
from harness.suite.schema import TimingConfig

MIN_SUBSET = 16  # fewer samples and a window measures its own start-up, not the model


def request_size(request: Request) -> int:
    """Characters the request feeds the model (plus what it may generate): the stratum key."""
    if isinstance(request, LogLikelihood):
        return len(request.context) + len(request.continuation)
    if isinstance(request, RollingLogLikelihood):
        return len(request.text)
    if isinstance(request, Generate):
        return len(request.prompt) + 4 * request.max_new_tokens
    if isinstance(request, Embed):
        return len(request.text)
    return 0


def repeat_subset(
    per_sample: Sequence[Sequence[Request]], timing: TimingConfig
) -> list[int] | None:
    """Indices of the samples every extra window runs; None: all of them (and then the first
    window counts as one of the repeats)."""
    n = len(per_sample)
    if timing.min_repeats <= 1 or timing.repeat_fraction >= 1:
        return None
    size = max(MIN_SUBSET, math.ceil(timing.repeat_fraction * n / timing.min_repeats))
    if size >= n:
        return None
    by_size = sorted(range(n), key=lambda i: (sum(request_size(r) for r in per_sample[i]), i))
    step = n / size
    return sorted(by_size[int(k * step + step / 2)] for k in range(size))


PERCENTILE_NAMES = frozenset(
    percentile_name(family, q) for family in Percentiled for q in ("p50", "p90", "p99")
)


def has_own_interval(name: str, value: Value) -> bool:
    """Whether a latency percentile already carries its order-statistic interval over the
    window's requests: repeats must not replace it with the windows' min..max, which holds
    a median with less than 95% probability (other values' intervals, such as energy's
    idle noise, still take the windows' spread)."""
    return name in PERCENTILE_NAMES and value.ci_low is not None and value.ci_high is not None


def rescaled_to_full(
    full: dict[str, Value], runs: Sequence[dict[str, Value]], how: str
) -> dict[str, Value]:
    """The full pass's values, each with the min..max of the subset windows rescaled to it."""
    merged: dict[str, Value] = {}
    for name, value in full.items():
        samples = [run[name].value for run in runs if name in run]
        middle = statistics.median(samples) if samples else 0.0
        if has_own_interval(name, value):  # the window's own interval, not the windows' spread
            merged[name] = value.model_copy(update={"repeats": [value.value]})
            continue
        if len(samples) < 2 or middle == 0 or not math.isfinite(middle):
            merged[name] = value.model_copy(update={"repeats": [value.value]})
            continue
        scaled = [s * value.value / middle for s in samples]
        merged[name] = value.model_copy(
            update={
                "ci_low": min(scaled),
                "ci_high": max(scaled),
                "stderr": statistics.stdev(scaled) / len(scaled) ** 0.5,
                "repeats": scaled,
                "note": f"the full pass; interval = min..max of {how}"
                + (f"; {value.note}" if value.note else ""),
            }
        )
    return merged


def describe_subset(subset: Sequence[int] | None, n: int, windows: int) -> str:
    if subset is None:
        return f"{windows} timed window(s) over all {n} samples; the first is scored"
    return (
        f"{windows} repeat windows over {len(subset)} of {n} samples chosen evenly by request "
        "size, rescaled to the full pass"
    )
