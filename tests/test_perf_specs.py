"""Perf specs: what each perf value measures, from the one catalogue of names, and the
derived specs of records written before schema 3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.core.perf_names import PerfName
from harness.core.perf_specs import (
    CATALOGUE,
    Kernels,
    PerfKind,
    Phase,
    Scope,
    SpecContext,
    spec_for,
)
from harness.store.records import RunStore
from tests.conftest import run_cli

BATCHED_SIMULATED = SpecContext(latency_scope=Scope.PER_BATCH, kernels=Kernels.SIMULATED)


def _spec(name: str, context: SpecContext = BATCHED_SIMULATED) -> tuple[Any, ...]:
    spec = spec_for(name, "s", False, context)
    return spec.kind, spec.phase, spec.scope, spec.kernels


def test_every_fixed_name_is_in_the_catalogue() -> None:
    assert set(PerfName) == set(CATALOGUE)


def test_latencies_take_the_engine_scope_and_their_phase() -> None:
    per_batch = (Scope.PER_BATCH, Kernels.SIMULATED)
    assert _spec("ttft_p90") == (PerfKind.LATENCY, Phase.PREFILL, *per_batch)
    assert _spec("time_per_output_token") == (PerfKind.LATENCY, Phase.DECODE, *per_batch)
    assert _spec("itl_p99", SpecContext()) == (
        PerfKind.LATENCY,
        Phase.DECODE,
        Scope.PER_REQUEST,
        Kernels.REAL,
    )
    assert _spec("output_tokens_p50")[0::3] == (PerfKind.WORKLOAD, Kernels.NOT_APPLICABLE)


def test_simulated_kernels_mark_what_the_kernels_produced_and_nothing_else() -> None:
    assert _spec("input_tokens_per_s")[3] is Kernels.SIMULATED
    assert _spec("peak_rss")[3] is Kernels.SIMULATED
    assert _spec("weight_bytes")[3] is Kernels.SIMULATED  # the float base's bytes
    assert _spec("bits_per_weight") == (
        PerfKind.SIZE,
        Phase.NONE,
        Scope.VARIANT,
        Kernels.NOT_APPLICABLE,
    )
    assert _spec("peak_flops")[2:] == (Scope.MACHINE, Kernels.NOT_APPLICABLE)


def test_a_window_that_only_scores_is_prefill_and_unknown_names_are_other() -> None:
    scoring = SpecContext(generated=False)
    assert _spec("input_tokens_per_s", scoring)[:2] == (PerfKind.SPEED, Phase.PREFILL)
    assert _spec("input_tokens_per_s")[:2] == (PerfKind.SPEED, Phase.WHOLE)
    assert _spec("my_plugin_figure")[:3] == (PerfKind.OTHER, Phase.WHOLE, Scope.WINDOW)
    assert _spec("latency_p50x")[0] is PerfKind.OTHER  # not a percentile name


@pytest.mark.e2e
def test_a_schema_2_record_derives_the_same_specs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ppl_suite: Any
) -> None:
    """A mock run rewritten as v0.2 wrote it (no specs, the kernels said in conventions text,
    the scope in the percentiles' notes) reads back with the specs the run stored."""
    suite = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}])
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out)) == 0
    (new,) = RunStore(out).records()
    row = json.loads((out / "records.jsonl").read_text())
    row.update(schema_version=2, perf_specs={})
    row["conventions"]["kernels"] = "same as the unquantized model (fake quantization)"
    (out / "records.jsonl").write_text(json.dumps(row) + "\n")
    (old,) = RunStore(out).records()
    for name in new.perf:
        expected = new.perf_specs[name]
        if expected.measured:
            expected = expected.model_copy(update={"kernels": Kernels.SIMULATED})
        assert old.perf_spec(name) == expected, name
    assert old.kernels is Kernels.SIMULATED and new.kernels is Kernels.REAL
    assert old.perf_spec("no_such_value") is None
