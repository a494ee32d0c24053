"""Goodput and quality under a service-level objective, for served (streamed) responses.

A request meets the SLO when it did not fail and every bound the suite gives holds:
TTFT <= ttft_ms, time per output token (e2e - TTFT) / (output tokens - 1) <= tpot_ms (a
request with fewer than two output tokens has no TPOT, so that bound holds vacuously), and
end-to-end latency <= e2e_ms. A sample meets it when all its streamed requests do.

  slo_attainment    fraction of requests meeting the SLO (Wilson 95% CI), over every request
                    of the window: on a served load level, the cycled repeats too
  slo_met           1 when slo_attainment >= the suite's `attainment` (default 0.9), else 0
  goodput           requests meeting the SLO per second of the measured window
  <metric>_under_slo  the task's per-sample metric with every sample that missed the SLO
                    scored 0 ("accuracy under SLO"), with the metric's own CI
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from harness.core.perf_names import PerfName
from harness.core.requests import GenerateResponse, Response
from harness.core.values import Value
from harness.metrics import Metric, mean_metric, summarize
from harness.metrics.base import wilson_interval
from harness.profilers.serving import served, tpot_s
from harness.suite.schema import SLOConfig


@dataclass(frozen=True)
class SLOValues:
    quality: dict[str, Value] = field(default_factory=dict)
    perf: dict[str, Value] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()  # the `<metric>_under_slo` metrics of `quality`


def meets(slo: SLOConfig, response: GenerateResponse) -> bool:
    if response.error is not None or response.latency_s is None:
        return False
    tpot = tpot_s(response)
    if slo.ttft_ms is not None and (
        response.ttft_s is None or response.ttft_s * 1000.0 > slo.ttft_ms
    ):
        return False  # no first token at all, or too late
    if slo.tpot_ms is not None and tpot is not None and tpot * 1000.0 > slo.tpot_ms:
        return False  # (no second token: no TPOT to bound)
    return slo.e2e_ms is None or response.latency_s * 1000.0 <= slo.e2e_ms


def slo_values(
    slo: SLOConfig | None,
    responses: Sequence[Sequence[Response]],
    scores: Sequence[Mapping[str, float]],
    metrics: Sequence[Metric],
    wall_s: float | None,
    seed: int,
    window: Sequence[Response] = (),
) -> SLOValues:
    """`responses`: the scored answers per sample; `window`: every answer of the timed
    window where it ran more (a load level's cycled repeats), for attainment and goodput."""
    scored = served([r for row in responses for r in row])
    every = served(window) if window else scored
    if not every:
        return SLOValues()
    if slo is None:
        return SLOValues(unavailable={"slo": "the suite gives no 'slo:' to measure goodput"})
    met = [meets(slo, r) for r in every]
    rate = sum(met) / len(met)
    low, high = wilson_interval(rate, len(met))
    perf: dict[str, Value] = {
        PerfName.SLO_ATTAINMENT: Value(
            value=rate,
            unit="fraction",
            higher_is_better=True,
            n=len(met),
            ci_low=low,
            ci_high=high,
            note=f"requests meeting {_describe(slo)}; 95% Wilson interval"
            + _repeats_note(len(scored), len(every)),
        ),
        PerfName.SLO_MET: Value(
            value=float(rate >= slo.attainment),
            unit="bool",
            higher_is_better=True,
            note=f"slo_attainment >= {slo.attainment:g}",
        ),
    }
    if wall_s:
        perf[PerfName.GOODPUT] = Value(
            value=sum(met) / wall_s,
            unit="req/s",
            higher_is_better=True,
            n=sum(met),
            note=f"requests meeting {_describe(slo)} per second of the measured window",
        )
    sample_met = [all(meets(slo, r) for r in served(row)) for row in responses]
    gated = [
        {k: (v if ok else 0.0) for k, v in s.items()}
        for s, ok in zip(scores, sample_met, strict=True)
    ]
    quality, derived = {}, []
    for metric in metrics:
        if metric.mean_of is None or not metric.higher_is_better:
            continue  # corpus metrics (BLEU, perplexity) have no per-sample failure score
        under = mean_metric(f"{metric.name}_under_slo", metric.unit, True, metric.mean_of)
        quality[under.name] = summarize(under, gated, seed)
        derived.append(under)
    return SLOValues(quality, perf, metrics=tuple(derived))


def _repeats_note(distinct: int, requests: int) -> str:
    """Why the interval is about this server on these prompts, when prompts were repeated."""
    if requests <= distinct:
        return ""
    return (
        f" over {requests} requests cycling {distinct} distinct prompts, taken as independent:"
        " it covers the server's variation on these prompts, not the prompts' own"
    )


def _describe(slo: SLOConfig) -> str:
    parts = [
        f"{name} <= {bound:g} ms"
        for name, bound in (("TTFT", slo.ttft_ms), ("TPOT", slo.tpot_ms), ("e2e", slo.e2e_ms))
        if bound is not None
    ]
    return "the SLO (" + ", ".join(parts) + ")" if parts else "the SLO (no bounds)"
