"""Scaling along variant axes: the series of each ladder, the size fits, and the task's
quality-vs-speed frontier."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from harness.backends import BACKENDS
from harness.core.perf_names import PerfName
from harness.core.perf_specs import Kernels
from harness.core.values import Value
from harness.report.analysis.aggregate import axis_values, primary_metric
from harness.report.analysis.fit import Fit, Refusal, fit_power_law
from harness.report.analysis.speed import Speed, comparable_speeds, interval_pareto, speed_of
from harness.store.records import Record
from harness.variants.base import SCALING_AXES, is_unmodified, knobs_along, transform_knobs

# Read from the knobs' own declarations (harness.variants): the transform knobs, and per
# scaling axis (the knobs that move along it, label, log scale); each knob is its own ladder.
TRANSFORMS = transform_knobs()
AXES = {axis.name: (knobs_along(axis), axis.label, axis.log_scale) for axis in SCALING_AXES}
FIT_MARGIN = 0.1
# a generation task ranks by its output rate, a scoring task by its input rate
PREFERRED = (PerfName.OUTPUT_TOKENS_PER_S, PerfName.INPUT_TOKENS_PER_S)


@dataclass(frozen=True)
class Series:
    """One ladder's points: quality (with its interval) at each step along an axis."""

    label: str
    x: list[float]
    y: list[float]
    low: list[float]
    high: list[float]
    names: list[str]
    simulated: bool = False  # its points ran simulated kernels: quality only, drawn apart


def is_base(record: Record) -> bool:
    return is_unmodified(record.knobs)


def ladder(record: Record, axis: str) -> str | None:
    """Which of the axis's ladders a record is on: its one moved knob, or "" for the base
    variant (on every ladder); None when it is not on this axis."""
    if is_base(record):
        return ""
    moved = [k for k in record.knobs if k in (*TRANSFORMS, "dtype")]
    if axis == PerfName.BITS_PER_WEIGHT and moved in (["quant"], ["dtype"]):
        return bits_ladder(record)
    return moved[0] if len(moved) == 1 and moved[0] in AXES[axis][0] else None


SIMULATED_LADDER = "simulated: gguf-py round-trip, quality only"


def bits_ladder(record: Record) -> str:
    """Real kernels and simulated bit widths are separate ladders: a gguf-py round-trip runs
    float kernels, so only its quality belongs beside llama.cpp's real levels."""
    if record.kernels is Kernels.SIMULATED:
        return SIMULATED_LADDER
    # dtypes and real torch/bitsandbytes kernels share the default ladder; an engine with
    # kernels of its own (llama.cpp) names its own. A record of an engine not installed here
    # keeps the default.
    if record.engine is None or record.engine not in BACKENDS:
        return "quant"
    return BACKENDS.get(record.engine).quant_ladder


def quality_point(record: Record) -> tuple[str, Value]:
    name = primary_metric(record)
    return name, record.quality[name]


def series_for(records: Sequence[Record], task: str, axis: str) -> list[Series]:
    """One series per (model, ladder), each starting from the model's base variant."""
    bases: dict[str, list[Record]] = defaultdict(list)
    ladders: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        on = ladder(r, axis) if r.task == task else None
        if on == "":
            bases[r.model].append(r)
        elif on is not None:
            ladders[(r.model, on)].append(r)
    out = []
    for (model, knob), steps in sorted(ladders.items()):
        recs = bases[model] + steps
        values = [quality_point(r)[1] for r in recs]
        label = f"{model} ({knob})" if axis == "n_params" or knob != "quant" else model
        out.append(
            Series(
                label=label,
                x=[axis_values(r)[axis] for r in recs],
                y=[v.value for v in values],
                low=[v.ci_low if v.ci_low is not None else v.value for v in values],
                high=[v.ci_high if v.ci_high is not None else v.value for v in values],
                names=[r.variant_id for r in recs],
                simulated=all(r.kernels is Kernels.SIMULATED for r in steps),
            )
        )
    return out


def fit_target(record: Record) -> tuple[str, bool] | None:
    """(description, take 1 - value) for metrics a power law describes: losses falling to
    a floor (lower is better), or error rates (1 - a fraction that is higher-better)."""
    name, value = quality_point(record)
    if value.higher_is_better is False:
        return name, False
    if value.higher_is_better and value.unit == "fraction":
        return f"1 - {name}", True
    return None


@dataclass(frozen=True)
class FitRow:
    task: str
    model: str
    target: str
    result: Fit | Refusal
    series: Series
    kind: str  # "scaling law" (different models) or "degradation curve" (one model's ladder)


def family_series(records: Sequence[Record], task: str) -> Series | None:
    """The unmodified base of each distinct model on the task: a real size ladder."""
    bases = {}
    for r in records:
        if r.task == task and is_base(r) and r.model not in bases:
            bases[r.model] = r
    if len(bases) < 2:
        return None
    recs = sorted(bases.values(), key=lambda r: r.n_params)
    values = [quality_point(r)[1] for r in recs]
    return Series(
        label="models",
        x=[float(r.n_params) for r in recs],
        y=[v.value for v in values],
        low=[v.ci_low if v.ci_low is not None else v.value for v in values],
        high=[v.ci_high if v.ci_high is not None else v.value for v in values],
        names=[r.model for r in recs],
    )


def _fit_row(
    records: Sequence[Record], task: str, s: Series, kind: str, seed: int
) -> FitRow | None:
    names = set(s.names)
    sample = next(r for r in records if r.task == task and names & {r.variant_id, r.model})
    target = fit_target(sample)
    if target is None:
        return None
    ys = [1 - y for y in s.y] if target[1] else s.y
    result = fit_power_law(s.x, ys, saturating=True, seed=seed)
    return FitRow(task, s.label, target[0], result, s, kind)


def size_fits(records: Sequence[Record], seed: int) -> list[FitRow]:
    rows = []
    for task in sorted({r.task for r in records}):
        family = family_series(records, task)
        candidates = [(family, "scaling law")] if family is not None else []
        candidates += [(s, "degradation curve") for s in series_for(records, task, "n_params")]
        for s, kind in candidates:
            row = _fit_row(records, task, s, kind, seed)
            if row is not None:
                rows.append(row)
    return rows


def task_speed_metric(recs: Sequence[Record]) -> str | None:
    """The speed all of a task's records report: samples/s across tokenizers (tokens/s would
    compare different units), else output tokens/s for generation tasks and input tokens/s
    for scoring ones (never compared with each other)."""
    ranked = comparable_speeds(recs)
    order = [m for m in (PerfName.SAMPLES_PER_S, *PREFERRED) if m in ranked]
    return next((m for m in order if all(m in r.perf for r in recs)), None)


def frontier(records: Sequence[Record], task: str) -> tuple[list[Speed], list[int], str] | None:
    """Quality vs the speed the task's variants all report (output tokens/s for generation
    tasks, input tokens/s for scoring), with the interval-aware frontier."""
    recs = [r for r in records if r.task == task]
    if len(recs) < 3:
        return None
    metric = task_speed_metric(recs)
    if metric is None:
        return None
    name = primary_metric(recs[0])
    bases = {r.model: r for r in recs if is_base(r)}
    speeds = [speed_of(r, metric, bases.get(r.model)) for r in recs]
    kept = [s for s in speeds if s is not None and name in s.record.quality]
    hib = bool(recs[0].quality[name].higher_is_better)
    quality = [s.record.quality[name].value for s in kept]
    return kept, interval_pareto(kept, quality, hib), name
