"""Utilisation against the peak of the precision that ran: an int8 model's MFU read 1.23 and
an encoder's int8 0.90 against the float32 peak. Int8 kernels are held against the measured
int8 peak, a value above 1 is flagged in the record and the report (never a plain number),
and an old record whose int8 MFU was taken against a float peak is not shown as one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.core.perf_names import PerfName, Precision, peak_flops_name
from harness.core.requests import RollingLogLikelihood
from harness.core.values import Value
from harness.hardware import peaks as peaks_module
from harness.profilers.base import Work
from harness.profilers.roofline import ABOVE_PEAK, RooflineProfiler, compute_precision
from harness.report.sections.hardware import hardware_section, precision_from_knobs
from harness.store.records import Record
from tests.test_report import _record
from tests.test_variants import _load


def _fake_peaks(monkeypatch: pytest.MonkeyPatch, flops: float) -> list[Precision]:
    asked: list[Precision] = []

    def fake(device: str, precision: Precision) -> dict[str, float]:
        asked.append(precision)
        return {PerfName.PEAK_FLOPS: flops, PerfName.PEAK_BANDWIDTH: 1e10}

    monkeypatch.setattr(peaks_module, "peaks", fake)
    return asked


def _one_window(backend: Any) -> dict[str, Value]:
    prof = RooflineProfiler(backend)
    prof.start()
    (response,) = backend.loglikelihood_rolling([RollingLogLikelihood("some text here")])
    n = response.n_tokens or 0
    work = Work(n_requests=1, input_tokens=n, computed_tokens=n, input_lengths=[n], backend=backend)
    return dict(prof.stop(work))


def test_an_int8_model_is_held_against_the_int8_peak(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = _fake_peaks(monkeypatch, 1e15)
    float_model = _load(tiny_model_dir).backend
    int8_model = _load(tiny_model_dir, quant="int8_dynamic").backend
    assert float_model.info.dtype == int8_model.info.dtype == "float32"  # what the engine says
    assert compute_precision(float_model) is Precision.FLOAT32
    assert compute_precision(int8_model) is Precision.INT8  # what its Linear layers run
    out = _one_window(int8_model)
    assert asked[-1] is Precision.INT8
    peak = out[peak_flops_name(Precision.INT8)]
    assert peak.value == 1e15 and "int8" in (peak.note or "")
    assert PerfName.PEAK_FLOPS not in out  # one peak, named by its precision
    mfu = out[PerfName.MFU]
    assert mfu.value == pytest.approx(out[PerfName.ACHIEVED_FLOPS].value / 1e15)
    assert "against the int8 peak" in (mfu.note or "") and ABOVE_PEAK not in (mfu.note or "")


def test_a_utilisation_above_one_is_flagged_in_the_record(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_peaks(monkeypatch, 1.0)  # an absurdly low peak: the work outruns it
    out = _one_window(_load(tiny_model_dir).backend)
    assert out[PerfName.MFU].value > 1 and ABOVE_PEAK in (out[PerfName.MFU].note or "")


def test_the_int8_peak_is_measured_with_int8_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peaks_module, "MIN_TIME_S", 0.01)
    matmul = peaks_module._int8_matmul("cpu", 64)
    out = matmul()
    assert out.shape == (64, 64)  # torch's dynamic int8 Linear: int8 GEMM, float output
    assert peaks_module.matmul_peak("cpu", Precision.INT8) > 0


def _hw(variant: str, knobs: dict[str, str | int | float], mfu: float, peak: str) -> Record:
    perf = {
        PerfName.MFU: Value(value=mfu, unit="fraction", higher_is_better=True),
        peak: Value(value=3.3e11, unit="FLOP/s"),
        PerfName.PEAK_BANDWIDTH: Value(value=4.4e10, unit="B/s"),
    }
    return _record(variant, knobs, 24.0, 100.0, 1, perf)


def test_the_report_names_the_peak_and_never_shows_above_one_as_a_utilisation() -> None:
    int8_peak = peak_flops_name(Precision.INT8)
    text = hardware_section(
        [
            _hw("m@quant=int8_dynamic", {"quant": "int8_dynamic"}, 0.4, int8_peak),
            _hw("m@quant=q8_0", {"quant": "q8_0"}, 1.233, int8_peak),
            _hw("old@quant=int8_dynamic", {"quant": "int8_dynamic"}, 0.9, PerfName.PEAK_FLOPS),
            _hw("old", {}, 0.2, PerfName.PEAK_FLOPS),
        ]
    )
    rows = {
        cells[0]: cells
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| variant")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    assert rows["m@quant=int8_dynamic"][2] == "40.0%"
    assert rows["m@quant=int8_dynamic"][4] == "330 GFLOP/s (int8)"
    assert rows["m@quant=int8_dynamic"][6] == "partly engine-bound"
    assert rows["m@quant=q8_0"][2] == f"123.3% ({ABOVE_PEAK})"
    assert rows["m@quant=q8_0"][6].startswith("— (utilisation above the measured peak")
    assert "not a utilisation" in rows["old@quant=int8_dynamic"][2]
    assert rows["old@quant=int8_dynamic"][4] == "330 GFLOP/s (float*)" and "\\*" in text
    assert rows["old"][2] == "20.0%"


def test_knobs_name_the_precision_that_ran() -> None:
    assert precision_from_knobs({"quant": "int8_dynamic"}) is Precision.INT8
    assert precision_from_knobs({"quant": "bnb_int8"}) is Precision.INT8
    assert precision_from_knobs({"quant": "q4_k_m"}) is Precision.INT8  # llama.cpp's levels
    assert precision_from_knobs({"quant": "bnb_nf4"}) is Precision.BFLOAT16
    assert precision_from_knobs({"dtype": "bfloat16"}) is Precision.BFLOAT16
    assert precision_from_knobs({}) is None


def test_a_peak_named_by_precision_is_a_fact_of_the_machine() -> None:
    from harness.core.perf_specs import Kernels, PerfKind, Scope, SpecContext, spec_for

    spec = spec_for(peak_flops_name(Precision.INT8), "FLOP/s", None, SpecContext())
    assert (spec.kind, spec.scope, spec.kernels) == (
        PerfKind.HARDWARE,
        Scope.MACHINE,
        Kernels.NOT_APPLICABLE,
    )


def test_the_configuration_that_ran_names_the_precision_before_the_knobs() -> None:
    from harness.report.sections.hardware import precision_that_ran
    from harness.variants.resolved import ResolvedConfig

    base = _hw("m", {}, 0.2, PerfName.PEAK_FLOPS)
    assert precision_that_ran(base) is None  # an old record: its knobs do not say
    ran = ResolvedConfig(dtype="float32", device="cpu", options={"quant": "int8_dynamic"})
    assert precision_that_ran(base.model_copy(update={"resolved": ran})) is Precision.INT8
    bf16 = ResolvedConfig(dtype="bfloat16", device="cuda:0")
    assert precision_that_ran(base.model_copy(update={"resolved": bf16})) is Precision.BFLOAT16


def test_a_simulated_quantization_runs_float_kernels_whatever_its_level() -> None:
    """A GGUF round trip on the transformers engine (weights dequantized back to floats) is
    not int8 compute: an old record of one is held against its float peak, not flagged."""
    from harness.core.perf_specs import KERNELS_NOTE, Kernels
    from harness.report.sections.hardware import precision_that_ran

    ladder = _hw("old@quant=q8_0", {"quant": "q8_0"}, 0.5, PerfName.PEAK_FLOPS)
    simulated = ladder.model_copy(update={"conventions": {KERNELS_NOTE: Kernels.SIMULATED.value}})
    assert simulated.kernels is Kernels.SIMULATED
    assert precision_that_ran(simulated) is None  # the engine's float default, not int8
    assert ladder.kernels is Kernels.REAL and precision_that_ran(ladder) is Precision.INT8
