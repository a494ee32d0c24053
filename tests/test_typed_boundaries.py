"""The typed vocabulary across module boundaries: one response type per request kind that
fails where a backend builds it, metric specs stored with each record (gate and report need
no catalog), typed transform facts, and knobs declared once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.core.errors import UserError
from harness.core.perf_specs import Kernels, PerfKind, Phase, Scope
from harness.core.requests import (
    GenerateResponse,
    LogLikelihoodResponse,
    RollingResponse,
    generated_text,
    logprobs_of,
)
from harness.core.values import Value
from harness.gate import compare_quality
from harness.gate.rules import GateRules
from harness.gate.runs import RunData
from harness.metrics import mean_metric
from harness.metrics.reducers import MeanOf, RatioOf
from harness.metrics.spec import metric_specs
from harness.store.records import Record, RunStore
from harness.variants.facts import Measure, Note, TransformFacts
from tests.conftest import make_fingerprint, make_manifest, run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "run_v1"


def test_a_missing_or_mistyped_field_fails_where_the_response_is_built() -> None:
    bad: Any = None
    with pytest.raises(TypeError, match=r"LogLikelihoodResponse\.logprob must be real"):
        LogLikelihoodResponse(logprob=bad, is_greedy=True, n_tokens=1)
    with pytest.raises(TypeError, match=r"RollingResponse\.n_tokens must be integral"):
        RollingResponse(logprob=-1.0, n_tokens=True)  # a bool is not a count
    with pytest.raises(TypeError, match=r"GenerateResponse\.text must be str"):
        GenerateResponse(text=bad, n_out=0)
    ok = LogLikelihoodResponse(logprob=0.0, is_greedy=True, n_tokens=1)
    assert logprobs_of([ok]) == [0.0]  # probability 1 is a real score, not a missing one
    with pytest.raises(TypeError, match="carries no log-likelihood"):
        logprobs_of([GenerateResponse(text="x", n_out=1)])
    with pytest.raises(TypeError, match="carries no generated text"):
        generated_text(ok)


@pytest.mark.e2e
def test_a_nan_log_probability_is_a_clear_error_naming_variant_and_task(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ppl_suite: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    suite = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}], {"mock_quality": [0.0]})
    text = suite.read_text().replace("0.0", ".nan")  # the mock then returns NaN log-likelihoods
    suite.write_text(text)
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(tmp_path / "run")) == 2
    err = capsys.readouterr().err
    assert "variant 'm@mock_quality=nan' gave NaN or infinite scores on task 'ppl_0'" in err


@pytest.mark.e2e
def test_records_store_their_metric_specs_and_they_recompute_the_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ppl_suite: Any
) -> None:
    suite = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}])
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out)) == 0
    store = RunStore(out)
    (record,) = store.records()
    assert record.schema_version == 3 and set(record.metrics) == set(record.quality)
    assert record.primary_metrics() == ("bits_per_byte",)
    # every perf value has its spec; a window that only scores prompts is prefill
    assert set(record.perf_specs) == set(record.perf) and "input_tokens_per_s" in record.perf
    speed = record.perf_specs["input_tokens_per_s"]
    assert (speed.kind, speed.phase, speed.scope, speed.kernels) == (
        PerfKind.SPEED,
        Phase.PREFILL,
        Scope.WINDOW,
        Kernels.REAL,
    )
    assert speed.unit == record.perf["input_tokens_per_s"].unit and speed.higher_is_better
    bits = record.metrics["bits_per_byte"].reducer
    assert isinstance(bits, RatioOf) and (bits.numerator, bits.denominator) == (
        "logprob",
        "n_bytes",
    )
    scores = list(store.scores_by_unit()[record.unit_key].values())
    for name, spec in record.metrics.items():
        assert spec.reduce(scores) == record.quality[name].value
    line = json.loads(store.records_path.read_text())
    assert line["metrics"]["token_perplexity"]["reducer"]["kind"] == "ratio"


def _accuracy_record(spec_field: str) -> Record:
    accuracy = mean_metric("accuracy", "fraction", True, spec_field)
    return Record(
        run_id="r",
        suite="s",
        task="t",
        task_version=1,
        adapter="classification",
        variant_id="v",
        model="m",
        n_params=1,
        knobs={},
        quality={"accuracy": Value(value=0.5, unit="fraction", higher_is_better=True)},
        metrics=metric_specs([accuracy], ["accuracy"]),
        perf={},
        started_at="t",
        wall_s=1.0,
    )


def test_the_gate_recomputes_a_metric_with_the_records_own_reducer() -> None:
    """Two adapters may call different things `accuracy`: the stored reducer (here the mean of
    `hit`) is the one compared, not whatever a catalog finds under the name."""

    def run(hits: list[float]) -> RunData:
        rows = {f"s{i}": {"hit": h, "correct": 1.0} for i, h in enumerate(hits)}
        return RunData(
            Path("x"),
            make_manifest(make_fingerprint()),
            {("v", "t"): _accuracy_record("hit")},
            {("v", "t"): rows},
        )

    found = compare_quality(run([1.0] * 40), run([0.0] * 40), GateRules())
    (comparison,) = found
    assert comparison.role == "primary" and comparison.result is not None
    assert comparison.result.baseline == 1.0 and comparison.result.candidate == 0.0
    assert comparison.status == "fail"


def test_v1_records_fall_back_to_the_built_in_metrics() -> None:
    records = RunStore(FIXTURE).records()
    assert {r.schema_version for r in records} == {1} and not records[0].metrics
    spec = records[0].metric_spec("token_perplexity")
    assert spec is not None and spec.reducer == RatioOf(
        numerator="logprob", denominator="n_tokens", exponentiate=True
    )
    assert records[0].primary_metrics() == ("bits_per_byte",)
    assert records[0].metric_spec("no_such_metric") is None


def test_transform_facts_keep_their_units_and_later_facts_refine_earlier_ones() -> None:
    at_load = TransformFacts.of(Note("engine", "x"), Measure("bits_per_weight", 16.0, "bits"))
    facts = at_load.then([Measure("bits_per_weight", 4.5, "bits"), Measure("sparsity", 0.5, "")])
    assert [f.name for f in facts.facts] == ["engine", "bits_per_weight", "sparsity"]
    assert facts.perf_values()["bits_per_weight"] == Value(value=4.5, unit="bits")
    assert facts.notes() == {"engine": "x"} and facts.measure("engine") is None


def test_knobs_are_declared_once_for_report_validation_and_listing() -> None:
    from harness.backends.options import honoured_knobs
    from harness.report.analysis.scaling import AXES, TRANSFORMS
    from harness.report.analysis.serving import LOAD_KNOBS
    from harness.variants import KNOBS

    assert set(TRANSFORMS) == {"adapter", "layers", "drop_middle", "sparsity", "quant"}
    assert {k: set(v[0]) for k, v in AXES.items()} == {
        "n_params": {"layers", "drop_middle"},
        "bits_per_weight": {"quant", "dtype"},
        "sparsity": {"sparsity"},
    }
    assert LOAD_KNOBS == ("concurrency", "request_rate")
    assert set(honoured_knobs("llamacpp")) == {
        "quant",
        "threads",
        "n_ctx",
        "n_batch",
        "n_gpu_layers",
        "max_length",
        "repeat",  # every engine honours it by changing nothing
    }
    assert "n_ctx" not in honoured_knobs("hf") and "dtype" in honoured_knobs("hf")
    assert KNOBS.get("layers").unit == "layers"


def test_registry_errors_say_where_the_name_came_from() -> None:
    from harness.adapters import ADAPTERS

    with pytest.raises(UserError) as err:
        ADAPTERS.get("clasification", where="tasks/foo.yaml: key 'adapter'")
    message = str(err.value)
    assert message.startswith("tasks/foo.yaml: key 'adapter': unknown adapter 'clasification'")
    assert "did you mean 'classification'" in message and "registered: classification" in message
    assert MeanOf(field="correct").fields() == ("correct",)
