"""What a correct answer costs: tokens and joules per correct answer with bootstrap intervals,
on synthetic energy (this machine has no readable energy counter), and in a real record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.core.requests import GenerateResponse, LogLikelihoodResponse
from harness.core.values import Value
from harness.metrics import mean_metric
from harness.run.budget import budget_values
from harness.run.cost import cost_per_correct, tokens_of
from harness.suite.schema import BudgetConfig
from tests.conftest import run_cli


def _answer(tokens: int) -> list[Any]:
    return [GenerateResponse(text="x", n_out=tokens // 2, n_in=tokens - tokens // 2)]


def test_tokens_and_joules_per_correct_answer_with_intervals() -> None:
    # 40 samples of 10 tokens each, 30 correct; the window used 200 J net
    scores = [{"exact_match": 1.0 if i < 30 else 0.0} for i in range(40)]
    responses = [_answer(10) for _ in range(40)]
    energy = {"energy_net": Value(value=200.0, unit="J", higher_is_better=False)}
    cost = cost_per_correct(energy, scores, responses, seed=1)
    tokens, joules = cost["tokens_per_correct"], cost["joules_per_correct"]
    assert tokens.value == pytest.approx(400 / 30) and joules.value == pytest.approx(200 / 30)
    assert tokens.n == 30 and tokens.unit == "tok" and joules.unit == "J"
    for value in (tokens, joules):
        assert value.ci_low is not None and value.ci_high is not None
        assert value.ci_low < value.value < value.ci_high  # which samples were drawn matters
    # equal tokens per sample: joules per correct is the tokens figure scaled by J per token
    assert tokens.ci_low is not None and joules.ci_low == pytest.approx(tokens.ci_low * 0.5)


def test_costlier_samples_weigh_in_and_nothing_correct_gives_nothing() -> None:
    scores = [{"correct": 1.0}, {"correct": 0.0}, {"correct": 1.0}, {"correct": 0.0}]
    responses = [
        [LogLikelihoodResponse(logprob=-1.0, is_greedy=True, n_tokens=1, n_in=n)] for n in (2, 98)
    ] * 2
    cost = cost_per_correct({}, scores, responses, seed=0)
    assert cost["tokens_per_correct"].value == pytest.approx(200 / 2)
    assert "joules_per_correct" not in cost  # no energy measured: unavailable, not zero
    assert cost_per_correct({}, [{"correct": 0.0}] * 4, responses, seed=0) == {}
    assert cost_per_correct({}, [{"bleu": 1.0}] * 4, responses, seed=0) == {}
    assert tokens_of(responses[1]) == 98


def test_a_real_classification_record_carries_its_tokens_per_correct_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ppl_suite: Any
) -> None:
    suite = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}])
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out)) == 0
    (record,) = [
        json.loads(line) for line in (out / "records.jsonl").read_text().split("\n") if line
    ]
    # perplexity scores count no correct answers: no cost per correct answer
    assert "tokens_per_correct" not in record["perf"]


ACCURACY = mean_metric("exact_match", "fraction", True)


def _timed(tokens: int, latency_s: float) -> list[Any]:
    return [GenerateResponse(text="x", n_out=tokens // 2, n_in=tokens - tokens // 2,
                             latency_s=latency_s)]  # fmt: skip


def test_accuracy_within_a_latency_and_an_energy_budget_is_joined_per_sample() -> None:
    # tokens 10, 10, 20, 60 share a 10 J window: 1, 1, 2 and 6 J
    responses = [_timed(10, 0.1), _timed(10, 0.2), _timed(20, 0.5), _timed(60, 1.0)]
    scores = [{"exact_match": v} for v in (1.0, 0.0, 1.0, 1.0)]
    energy = {"energy_net": Value(value=10.0, unit="J", higher_is_better=False)}
    budget = BudgetConfig(latency_ms=600, energy_j=2.0)
    found = budget_values(budget, energy, responses, scores, [ACCURACY], seed=0)
    # latency: samples 1-3 are within 600 ms, of which 1 and 3 are correct
    assert found.quality["exact_match_within_latency"].value == pytest.approx(2 / 4)
    # energy: samples 1-3 are within 2 J (the 60-token answer took 6 J)
    assert found.quality["exact_match_within_energy"].value == pytest.approx(2 / 4)
    tight = budget_values(BudgetConfig(latency_ms=150), energy, responses, scores, [ACCURACY], 0)
    assert tight.quality["exact_match_within_latency"].value == pytest.approx(1 / 4)
    assert [m.name for m in found.metrics] == [
        "exact_match_within_latency",
        "exact_match_within_energy",
    ]
    assert found.quality["exact_match_within_latency"].ci_low is not None


def test_a_budget_that_cannot_be_judged_is_unavailable_not_zero() -> None:
    responses = [[LogLikelihoodResponse(logprob=-1.0, is_greedy=True, n_tokens=1)]] * 3
    scores = [{"exact_match": 1.0}] * 3
    budget = BudgetConfig(latency_ms=100, energy_j=1.0)
    found = budget_values(budget, {}, responses, scores, [ACCURACY], seed=0)
    assert found.quality == {}
    assert "log-likelihood" in found.unavailable["latency_budget"]
    assert "no net energy" in found.unavailable["energy_budget"]
    assert budget_values(None, {}, responses, scores, [ACCURACY], seed=0).quality == {}
