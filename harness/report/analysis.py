"""What the report says: series along variant axes, fits, frontiers and the summary lines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from harness.records import Record, Value
from harness.report.aggregate import axis_values, primary_metric
from harness.report.fit import Fit, Refusal, fit_power_law, pareto_front
from harness.report.plots import Series

TRANSFORMS = ("layers", "drop_middle", "sparsity", "quant")
# axis -> (the knobs that move along it, label, log scale); each knob is its own ladder
AXES = {
    "n_params": (("drop_middle", "layers"), "effective parameters", True),
    "bits_per_weight": (("quant", "dtype"), "bits per weight", False),
    "sparsity": (("sparsity",), "sparsity", False),
}
FIT_MARGIN = 0.1


def is_base(record: Record) -> bool:
    return not any(k in record.knobs for k in (*TRANSFORMS, "dtype")) or (
        record.knobs.get("dtype") == "float32" and not any(k in record.knobs for k in TRANSFORMS)
    )


def ladder(record: Record, axis: str) -> str | None:
    """Which of the axis's ladders a record is on: its one moved knob, or "" for the base
    variant (on every ladder); None when it is not on this axis."""
    if is_base(record):
        return ""
    moved = [k for k in record.knobs if k in (*TRANSFORMS, "dtype")]
    if axis == "bits_per_weight" and moved in (["quant"], ["dtype"]):
        return bits_ladder(record)
    return moved[0] if len(moved) == 1 and moved[0] in AXES[axis][0] else None


def bits_ladder(record: Record) -> str:
    """Real kernels and simulated bit widths are separate ladders: a gguf-py round-trip runs
    float kernels, so only its quality belongs beside llama.cpp's real levels."""
    if record.conventions.get("engine", "").startswith("llama.cpp"):
        return "real llama.cpp kernels"
    simulated = record.conventions.get("quant_kernels") == "simulated"
    if simulated or record.conventions.get("quant_note", "").startswith("GGUF round-trip"):
        return "simulated: gguf-py round-trip, quality only"
    return "quant"  # dtypes and real torch/bitsandbytes kernels share one bits ladder


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


def size_fits(records: Sequence[Record], seed: int) -> list[FitRow]:
    rows = []
    for task in sorted({r.task for r in records}):
        for s in series_for(records, task, "n_params"):
            sample = next(r for r in records if r.task == task and r.variant_id == s.names[0])
            target = fit_target(sample)
            if target is None:
                continue
            ys = [1 - y for y in s.y] if target[1] else s.y
            rows.append(
                FitRow(
                    task, s.label, target[0], fit_power_law(s.x, ys, saturating=True, seed=seed), s
                )
            )
    return rows


def throughput(record: Record) -> float | None:
    for key in ("output_tokens_per_s", "input_tokens_per_s"):
        if key in record.perf:
            return record.perf[key].value
    return None


def frontier(records: Sequence[Record], task: str) -> tuple[list[Record], list[int]] | None:
    recs = [r for r in records if r.task == task and throughput(r) is not None]
    if len(recs) < 3:
        return None
    name = primary_metric(recs[0])
    hib = bool(recs[0].quality[name].higher_is_better)
    # cost = seconds per token, so lower is better on both axes' conventions
    cost = [1.0 / (throughput(r) or 1.0) for r in recs]
    return recs, pareto_front(cost, [r.quality[name].value for r in recs], hib)


def best_per_task(records: Sequence[Record]) -> list[tuple[str, Record, str]]:
    out = []
    for task in sorted({r.task for r in records}):
        recs = [r for r in records if r.task == task]
        name = primary_metric(recs[0])
        sign = 1 if recs[0].quality[name].higher_is_better else -1
        best = max(recs, key=lambda r: sign * r.quality[name].value)
        out.append((task, best, name))
    return out


def losses_per_axis(records: Sequence[Record]) -> list[tuple[str, str, str, float]]:
    """(knob, variant, task, relative change of the primary metric vs its base variant),
    the worst per knob; positive means worse."""
    base = {(r.model, r.task): r for r in records if is_base(r)}
    worst: dict[str, tuple[str, str, str, float]] = {}
    for r in records:
        moved = [k for k in r.knobs if k in (*TRANSFORMS, "dtype") and not is_base(r)]
        ref = base.get((r.model, r.task))
        if len(moved) != 1 or ref is None:
            continue
        name, value = quality_point(r)
        before = ref.quality[name].value
        if before == 0:
            continue
        change = (value.value - before) / abs(before) * (-1 if value.higher_is_better else 1)
        if moved[0] not in worst or change > worst[moved[0]][3]:
            worst[moved[0]] = (moved[0], r.variant_id, r.task, change)
    return sorted(worst.values())
