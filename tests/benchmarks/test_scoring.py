"""The scoring engine against the bare-loop floor, in one process, alternating (issue 13).

* Multiple choice: 200 Pang-Lee reviews zero-shot, two single-token labels. The floor is one
  forward per review, batched 8 and left-padded, both labels read at the last position.
* Rolling perplexity: Lee news documents in 2048-token windows (one window each). The floor
  is one document per forward. Subsampled to 60 of the 300 documents (every length band
  kept, by the task's seeded sampler) so the benchmark runs in a few minutes on 2 cores.

Each round times the harness's dispatch and the bare loop back to back, in alternating order,
so drift on a shared machine hits both sides; the ratio asserted is the median of the rounds'
ratios. Both sides must also agree on the numbers they produce.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.core.requests import (
    LogLikelihood,
    LogLikelihoodResponse,
    Request,
    Response,
    RollingLogLikelihood,
    RollingResponse,
)
from harness.run.dispatch import dispatch
from harness.run.plan import prepare_task
from harness.suite.schema import load_suite
from tests.benchmarks.bare_loops import choice_logprobs, document_logprobs
from tests.benchmarks.conftest import load_smollm2

pytestmark = [pytest.mark.slow, pytest.mark.network]
SUITE = Path(__file__).resolve().parent / "suites" / "choice.yaml"
ROUNDS = 3


def _requests(task: str, n: int | None) -> list[list[Request]]:
    prepared = prepare_task(task, load_suite(SUITE), SUITE, n)
    return [list(prepared.adapter.requests(s)) for s in prepared.samples]


def _logprob(response: Response) -> float:
    assert isinstance(response, LogLikelihoodResponse | RollingResponse)
    return response.logprob


def _alternate(harness: Callable[[], Any], bare: Callable[[], Any]) -> dict[str, Any]:
    """Per-round seconds of both sides and their ratios, the side that runs first swapped
    every round."""
    harness_s: list[float] = []
    bare_s: list[float] = []
    for round_index in range(ROUNDS):
        order = [(harness, harness_s), (bare, bare_s)]
        for fn, times in order if round_index % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    ratios = [h / b for h, b in zip(harness_s, bare_s, strict=True)]
    return {
        "harness_s": harness_s,
        "bare_s": bare_s,
        "ratios": ratios,
        "ratio": statistics.median(ratios),
    }


def _report(name: str, result: dict[str, Any]) -> str:
    def fmt(values: list[float]) -> str:
        return ", ".join(f"{v:.2f}" for v in values)

    return (
        f"\n{name}: harness [{fmt(result['harness_s'])}] s, bare [{fmt(result['bare_s'])}] s, "
        f"ratios [{fmt(result['ratios'])}], median ratio {result['ratio']:.3f}"
    )


def test_choice_scoring_within_1_2x_of_bare_batched_loop(benchmark: Any) -> None:
    backend = load_smollm2()
    per_sample = _requests("pang_lee_zeroshot", None)
    assert len(per_sample) == 200
    flat = [r for reqs in per_sample for r in reqs]
    assert all(isinstance(r, LogLikelihood) for r in flat)
    items = [backend._context_item(r.context, r.continuation) for r in flat]  # type: ignore[union-attr]
    prompts = [tokens[:-1] for tokens, _ in items[::2]]
    labels = [items[0][0][-1], items[1][0][-1]]
    assert all(n == 1 for _, n in items), "the labels must be single tokens for this floor"

    def bare() -> list[list[float]]:
        return choice_logprobs(backend.model, backend.pad_id, prompts, labels, batch=8)

    answers, _ = dispatch(backend, per_sample)  # warm both sides, and compare their numbers
    floor = bare()
    for got, want in zip(answers, floor, strict=True):
        assert [_logprob(r) for r in got] == pytest.approx(want, abs=1e-4)
    result = benchmark.pedantic(
        _alternate, args=(lambda: dispatch(backend, per_sample), bare), rounds=1, iterations=1
    )
    benchmark.extra_info.update(result)
    print(_report("choice scoring, 200 reviews", result))
    assert result["ratio"] <= 1.2


def test_rolling_perplexity_within_1_05x_of_one_document_per_forward(benchmark: Any) -> None:
    backend = load_smollm2()
    per_sample = _requests("lee_news_ppl_whole", 60)
    texts = [r.text for reqs in per_sample for r in reqs if isinstance(r, RollingLogLikelihood)]
    documents = [[backend.prefix_id, *backend.encode(text)] for text in texts]
    assert max(len(d) for d in documents) <= 2049  # one window each

    def bare() -> list[float]:
        return document_logprobs(backend.model, documents)

    answers, _ = dispatch(backend, per_sample)
    floor = bare()
    got = [_logprob(row[0]) for row in answers]
    assert got == pytest.approx(floor, rel=1e-5)
    result = benchmark.pedantic(
        _alternate, args=(lambda: dispatch(backend, per_sample), bare), rounds=1, iterations=1
    )
    benchmark.extra_info.update(result)
    print(_report(f"rolling perplexity, {len(documents)} documents", result))
    assert result["ratio"] <= 1.05
