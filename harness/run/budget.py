"""Quality within a budget: each sample's score counts only when the sample stayed within the
suite's per-answer latency or energy budget (zero otherwise), joined per request like goodput.

  <metric>_within_latency  a sample counts when every request it made finished within
                           `budget.latency_ms` (end to end, as the engine timed it: a request
                           of an in-process batch waits for its whole batch)
  <metric>_within_energy   a sample counts when its share of the window's net energy (shared
                           out per token, as joules per correct answer) is within
                           `budget.energy_j`
With accuracy, these are "accuracy within a latency budget" and "within an energy budget",
with the metric's own interval; the report ranks variants by them. A budget that cannot be
judged here (no request timed, no energy measured) is recorded as unavailable, never as 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.core.perf_names import PerfName
from harness.core.requests import GenerateResponse, Response
from harness.core.values import Value
from harness.metrics import Metric, mean_metric, summarize
from harness.profilers.slo import SLOValues
from harness.run.cost import tokens_of
from harness.suite.schema import BudgetConfig

LATENCY_KEY, ENERGY_KEY = "latency_budget", "energy_budget"


def _latencies(responses: Sequence[Sequence[Response]]) -> list[float] | None:
    """Each sample's slowest request, or None when some sample has an untimed request."""
    out = []
    for row in responses:
        timed = [r.latency_s for r in row if isinstance(r, GenerateResponse)]
        if not timed or any(t is None for t in timed):
            return None
        out.append(max(t for t in timed if t is not None))
    return out


def _joules(perf: Mapping[str, Value], responses: Sequence[Sequence[Response]]) -> list[float]:
    tokens = [float(tokens_of(row)) for row in responses]
    total = sum(tokens) or 1.0
    return [perf[PerfName.ENERGY_NET].value * t / total for t in tokens]


def _gated(
    suffix: str,
    within: Sequence[bool],
    scores: Sequence[Mapping[str, float]],
    metrics: Sequence[Metric],
    seed: int,
) -> tuple[dict[str, Value], list[Metric]]:
    gated = [
        {k: (v if ok else 0.0) for k, v in s.items()} for s, ok in zip(scores, within, strict=True)
    ]
    quality, derived = {}, []
    for metric in metrics:
        if metric.mean_of is None or not metric.higher_is_better:
            continue  # corpus metrics (BLEU, perplexity) have no per-sample failure score
        name = f"{metric.name}_within_{suffix}"
        within_metric = mean_metric(name, metric.unit, True, metric.mean_of)
        quality[name] = summarize(within_metric, gated, seed)
        derived.append(within_metric)
    return quality, derived


def budget_values(
    budget: BudgetConfig | None,
    perf: Mapping[str, Value],
    responses: Sequence[Sequence[Response]],
    scores: Sequence[Mapping[str, float]],
    metrics: Sequence[Metric],
    seed: int,
) -> SLOValues:
    if budget is None or not scores:
        return SLOValues()
    quality: dict[str, Value] = {}
    derived: list[Metric] = []
    unavailable: dict[str, str] = {}
    if budget.latency_ms is not None:
        latencies = _latencies(responses)
        if latencies is None:
            unavailable[LATENCY_KEY] = (
                "the engine times no request of this task one by one (log-likelihood batches)"
            )
        else:
            within = [t * 1000.0 <= budget.latency_ms for t in latencies]
            q, d = _gated("latency", within, scores, metrics, seed)
            quality, derived = {**quality, **q}, [*derived, *d]
    if budget.energy_j is not None:
        if PerfName.ENERGY_NET not in perf:
            unavailable[ENERGY_KEY] = "no net energy was measured for this window"
        else:
            within = [j <= budget.energy_j for j in _joules(perf, responses)]
            q, d = _gated("energy", within, scores, metrics, seed)
            quality, derived = {**quality, **q}, [*derived, *d]
    return SLOValues(quality=quality, unavailable=unavailable, metrics=tuple(derived))
