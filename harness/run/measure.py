"""The measured window: profilers around dispatch, repeated to a minimum count and time.

Loading and warmup happen before the window. The first window's responses are the ones
scored. When the repeats run every sample, each perf value is the median over windows with
the min..max spread as its interval; when they run a subset (the default on tasks larger than
a few dozen samples), the value is the full pass's and the interval the subset's spread
rescaled to it (`harness.run.repeats`).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harness.backends.base import Backend
from harness.core.perf_names import PerfName
from harness.core.requests import Request, Response
from harness.core.values import Value
from harness.profilers import PROFILERS, Profiler
from harness.run.dispatch import dispatch, warmup
from harness.run.repeats import describe_subset, has_own_interval, repeat_subset, rescaled_to_full
from harness.suite.schema import LoadLevelConfig, TimingConfig


@dataclass(frozen=True)
class Measured:
    responses: list[list[Response]]
    perf: dict[str, Value]
    unavailable: dict[str, str]
    repeats: str = ""  # what the timed windows ran, for the record's conventions
    # Every answer of the scored window: the responses above, and on a served load level
    # the repeats that met its minimums (per-request statistics count them all).
    window_responses: list[Response] = field(default_factory=list)


def _profilers(names: Sequence[str], backend: Backend) -> tuple[list[Profiler], dict[str, str]]:
    """Profilers are built (and do their slow set-up, like measuring idle power or the
    hardware peaks) before any window opens."""
    made = {name: PROFILERS.get(name)(backend) for name in names}
    unavailable = {n: r for n, prof in made.items() if (r := prof.available()) is not None}
    return [prof for n, prof in made.items() if n not in unavailable], unavailable


def _one_window(
    backend: Backend,
    per_sample: Sequence[Sequence[Request]],
    names: Sequence[str],
    progress: Callable[[int], None] | None,
    level: LoadLevelConfig | None = None,
) -> tuple[list[list[Response]], dict[str, Value], dict[str, str], list[Response]]:
    active, unavailable = _profilers(names, backend)
    for prof in active:
        prof.start()
    responses, work = dispatch(backend, per_sample, progress, level)
    perf: dict[str, Value] = {}
    for prof in reversed(active):  # stop in reverse so outer windows enclose inner ones
        perf.update(prof.stop(work))
    return responses, perf, {**work.unavailable, **unavailable}, work.responses


def measure(
    backend: Backend,
    per_sample: Sequence[Sequence[Request]],
    names: Sequence[str],
    progress: Callable[[int], None] | None,
    timing: TimingConfig | None = None,
    load_level: LoadLevelConfig | None = None,
) -> Measured:
    """The first window runs every sample (scored); the extra ones repeat every sample or,
    by default, a bounded subset (`harness.run.repeats`) until both minimums are met. On a
    served engine every window also meets the load level's minimums."""
    timing = timing or TimingConfig(min_repeats=1)
    level = load_level if backend.served_window() is not None else None
    prepared_s = warmup(backend, per_sample)
    started = time.perf_counter()
    responses, first, unavailable, every = _one_window(backend, per_sample, names, progress, level)
    subset = repeat_subset(per_sample, timing)
    repeated = per_sample if subset is None else [per_sample[i] for i in subset]
    runs = [first] if subset is None else []
    # The full pass counts as a repeat only when the repeats run the same samples.
    while len(runs) < timing.min_repeats or time.perf_counter() - started < timing.min_time_s:
        runs.append(_one_window(backend, repeated, names, None, level)[1])
    how = describe_subset(subset, len(per_sample), len(runs))
    perf = merge_repeats(runs) if subset is None else rescaled_to_full(first, runs, how)
    if prepared_s is not None:
        perf[PerfName.DECODE_PREPARE_TIME] = Value(
            value=prepared_s,
            unit="s",
            higher_is_better=False,
            note="static KV cache and decode-step compilation for the unit's batch shapes, "
            "before the window (not in any speed)",
        )
    return Measured(responses, perf, unavailable, how, every)


def merge_repeats(runs: Sequence[dict[str, Value]]) -> dict[str, Value]:
    """Each value as the median of the windows with their min..max, except a value whose
    profiler gave it an interval of its own (a latency percentile's order-statistic
    interval over the window's requests): it keeps the scored window's value and interval,
    with the windows' values as its repeats."""
    if len(runs) == 1:
        return {k: v.model_copy(update={"repeats": [v.value]}) for k, v in runs[0].items()}
    merged: dict[str, Value] = {}
    for name, value in runs[0].items():
        samples = [run[name].value for run in runs if name in run]
        if has_own_interval(name, value):
            merged[name] = value.model_copy(update={"repeats": samples})
            continue
        merged[name] = value.model_copy(
            update={
                "value": statistics.median(samples),
                "ci_low": min(samples),
                "ci_high": max(samples),
                "stderr": statistics.stdev(samples) / len(samples) ** 0.5,
                "repeats": samples,
                "note": f"median of {len(samples)} repeats, interval = min..max (holds the "
                f"true median with probability {1 - 0.5 ** (len(samples) - 1):.0%})"
                + (f"; {value.note}" if value.note else ""),
            }
        )
    return merged
