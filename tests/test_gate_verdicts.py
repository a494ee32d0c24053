"""Gate verdicts that mean something, on synthetic runs: primaries only in the Holm family,
underpowered comparisons inconclusive, partial overlap fails closed, relative tolerances
with a zero baseline, and an absolute perf tolerance honoured."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.adapters.choice import ClassificationAdapter
from harness.core.values import Value
from harness.gate import Comparison, compare_perf, compare_quality, decide
from harness.gate.paired import paired_bootstrap
from harness.gate.rules import GateRules, Rule, Tolerance
from harness.gate.runs import RunData
from harness.metrics.choice import choice_scores
from harness.store.records import Record
from tests.conftest import make_fingerprint, make_manifest, make_specs

TASK, VARIANT = "pang_lee_sentiment", "smollm2"


def _record(quality: dict[str, Value], perf: dict[str, Value] | None = None) -> Record:
    return Record(
        run_id="r",
        suite="s",
        task=TASK,
        task_version=1,
        adapter="classification",
        variant_id=VARIANT,
        model="smollm2",
        n_params=1,
        knobs={},
        quality=quality,
        metrics=make_specs("classification", ClassificationAdapter.metrics, quality),
        perf=perf or {},
        started_at="t",
        wall_s=1.0,
    )


def _run(
    correct: list[float],
    ids: list[str] | None = None,
    perf: dict[str, Value] | None = None,
    env: dict[str, str] | None = None,
) -> RunData:
    ids = ids or [f"s{i}" for i in range(len(correct))]
    rows = {}
    for sid, c in zip(ids, correct, strict=True):
        gold = 0
        logprobs = [-0.1, -3.0] if c else [-3.0, -0.1]
        rows[sid] = choice_scores(logprobs, [3, 3], gold, [4, 4])
    acc = sum(correct) / len(correct)
    quality = {
        name: Value(value=acc, unit="fraction", higher_is_better=hib)
        for name, hib in (
            ("accuracy", True),
            ("accuracy_norm", True),
            ("accuracy_norm_bytes", True),
            ("macro_f1", True),
            ("brier", False),
            ("ece", False),
        )
    }
    return RunData(
        Path("x"),
        make_manifest(make_fingerprint(**(env or {"cpu": "c"}))),
        {(VARIANT, TASK): _record(quality, perf)},
        {(VARIANT, TASK): rows},
    )


def _status(found: list[Comparison], metric: str) -> str:
    return str(next(c.status for c in found if c.metric == metric))


def test_collapse_at_n5_is_not_a_pass() -> None:
    """Accuracy 0.8 -> 0 at n = 5 passed before: Holm over every metric and no power check."""
    base, cand = _run([1, 1, 1, 1, 0]), _run([0, 0, 0, 0, 0])
    found = compare_quality(base, cand, GateRules())
    verdict = decide(found, "a", "b")
    assert not verdict.passed
    acc = next(c for c in found if c.metric == "accuracy")
    assert acc.role == "primary" and acc.status == "inconclusive"
    assert "underpowered: n = 5 detects only drops >= 0.556" in acc.detail
    assert "use n >= " in acc.detail
    assert {c.role for c in found if c.metric != "accuracy"} == {"secondary"}


def test_underpowered_can_be_downgraded_to_a_warning() -> None:
    base = _run([1, 1, 1, 1, 0])
    rules = GateRules(rules=[Rule(task=TASK, underpowered="warn")])
    found = compare_quality(base, base, rules)
    assert _status(found, "accuracy") == "warn"
    assert decide(found, "a", "b").passed


@pytest.mark.e2e
def test_only_primary_metrics_enter_holm() -> None:
    """A clear accuracy drop with many correlated secondaries still fails."""
    base = _run([1.0] * 150 + [0.0] * 50)
    cand = _run([1.0] * 120 + [0.0] * 80)
    found = compare_quality(base, cand, GateRules())
    assert _status(found, "accuracy") == "fail"
    assert len([c for c in found if c.role == "primary"]) == 1


def test_partial_overlap_fails_closed_unless_allowed() -> None:
    ids = [f"s{i}" for i in range(100)]
    base = _run([1.0] * 100, ids)
    cand = _run([1.0] * 100, ids[:10] + [f"t{i}" for i in range(90)])
    found = compare_quality(base, cand, GateRules())
    acc = next(c for c in found if c.metric == "accuracy")
    assert acc.status == "fail" and "partial overlap: 10 of the baseline's 100" in acc.detail
    allowed = GateRules(quality=Tolerance(partial_overlap="allow", underpowered="warn"))
    found = compare_quality(base, cand, allowed)
    assert _status(found, "accuracy") != "fail"


def test_relative_drop_with_zero_baseline_stays_in_one_unit() -> None:
    """Resamples whose baseline was 0 mixed absolute drops into relative ones."""
    base = [{"x": 0.0}] * 8 + [{"x": 1.0}] * 2
    cand = [{"x": 0.0}] * 10

    def mean(rows: object) -> float:
        values = [float(r["x"]) for r in rows]  # type: ignore[attr-defined]
        return sum(values) / len(values)

    result = paired_bootstrap(base, cand, mean, True, 0.5, True, 0.95, 500, 0)
    absolute = paired_bootstrap(base, cand, mean, True, 0.1, False, 0.95, 500, 0)
    assert result.drop == pytest.approx(1.0)  # 0.2 absolute = 100% of the baseline 0.2
    # about 1 resample in 10 has a baseline of 0; every draw is still absolute / 0.2
    assert result.drop_ci[0] == pytest.approx(absolute.drop_ci[0] / 0.2)
    assert result.drop_ci[1] == pytest.approx(absolute.drop_ci[1] / 0.2)
    assert result.mde == pytest.approx(absolute.mde / 0.2)
    zero = paired_bootstrap(cand, base, mean, False, 0.5, True, 0.95, 200, 0)
    assert "baseline 0" in zero.method


def _perf(values: list[float]) -> dict[str, Value]:
    return {
        "input_tokens_per_s": Value(
            value=sorted(values)[1], unit="tok/s", higher_is_better=True, repeats=values
        )
    }


def test_absolute_perf_tolerance_is_honoured() -> None:
    base = _run([1.0], perf=_perf([100.0, 101.0, 99.0]))
    cand = _run([1.0], perf=_perf([80.0, 81.0, 79.0]))
    relative = compare_perf(base, cand, GateRules())
    assert relative[0].status == "fail"  # 20% slower than the 10% default
    absolute = GateRules(perf=Tolerance(max_drop=30.0, relative=False))
    (found,) = compare_perf(base, cand, absolute)
    assert found.status == "pass" and "absolute" in found.detail
    assert found.extra["drop"] == pytest.approx(20.0)
