"""Profiler window logic, units and the 'unavailable is not zero' rule."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.backends.mock import MockBackend
from harness.core.requests import RollingLogLikelihood
from harness.core.values import Value
from harness.profilers import energy as energy_module
from harness.profilers.base import Work
from harness.profilers.idle import IdlePower
from harness.profilers.memory import MemoryProfiler
from harness.profilers.timing import TimingProfiler, time_per_output_token
from harness.run.measure import measure, merge_repeats
from harness.suite.schema import TimingConfig


def test_timing_rates_percentiles_and_tpot() -> None:
    work = Work(
        n_requests=4,
        input_tokens=400,
        output_tokens=40,
        latencies_s=[1.0, 1.0, 2.0, 2.0],
        ttfts_s=[0.1, 0.1, 0.2, 0.2],
        decode_steps=[10, 10, 19, 19],
    )
    prof = TimingProfiler()
    prof.start()
    time.sleep(0.05)
    out = prof.stop(work)
    wall = out["wall_time"].value
    assert 0.05 <= wall < 1.0 and out["wall_time"].unit == "s"
    assert out["input_tokens_per_s"].value == pytest.approx(400 / wall)
    assert "input" in (out["input_tokens_per_s"].note or "")
    assert out["latency_p50"].value == pytest.approx(1.5)
    assert out["latency_p99"].value == pytest.approx(np.percentile([1, 1, 2, 2], 99))
    assert out["ttft_p90"].unit == "s"
    tpot = time_per_output_token(work)["time_per_output_token"].value
    assert tpot == pytest.approx(np.median([0.9 / 9, 0.9 / 9, 1.8 / 18, 1.8 / 18]))


def test_memory_window_sees_an_allocation() -> None:
    prof = MemoryProfiler()
    prof.start()
    block = np.ones(200 * 1024 * 1024 // 8)  # 200 MiB, touched
    time.sleep(0.1)
    out = prof.stop(Work())
    del block
    assert out["rss_growth"].value >= 150 * 1024 * 1024
    assert out["peak_rss"].unit == "B"


def test_energy_unavailable_says_why() -> None:
    prof = energy_module.EnergyProfiler()
    if Path("/sys/class/powercap").exists():
        pytest.skip("this machine exposes RAPL")
    reason = prof.available()
    assert reason is not None and "no CUDA device" in reason and "RAPL" in reason


def test_energy_from_rapl_with_idle_subtraction_and_wrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "max_energy_range_uj").write_text("1000000000")
    counter = zone / "energy_uj"
    counter.write_text("999000000")
    monkeypatch.setattr(energy_module, "RAPL_ROOT", tmp_path)
    idle = IdlePower(2.0, 1.9, 2.1, 3, 1.5, True, None)
    monkeypatch.setattr(energy_module, "_idle", {"rapl": idle})
    prof = energy_module.EnergyProfiler()
    assert prof.available() is None
    prof.start()
    counter.write_text("4000000")  # wrapped: 1 J to the top, then 4 J = 5 J
    out = prof.stop(Work(input_tokens=10))
    assert out["energy"].value == pytest.approx(5.0)
    assert out["idle_power"].value == 2.0 and out["idle_power"].ci_high == 2.1
    net = out["energy_net"].value
    assert 5.0 - 2.0 * 0.1 < net <= 5.0
    assert out["joules_per_token"].value == pytest.approx(net / 10)


@pytest.mark.e2e
def test_window_excludes_warmup_and_repeats_merge() -> None:
    backend: Any = MockBackend("m", delay_s=0.05)
    requests = [[RollingLogLikelihood("a b c")] for _ in range(4)]
    measured = measure(backend, requests, ["timing"], None, TimingConfig(min_repeats=3))
    wall = measured.perf["wall_time"]
    assert 0.19 <= wall.value < 0.3, "warmup's 0.05 s must stay outside the window"
    assert wall.n is None and "median of 3 repeats" in (wall.note or "")
    assert wall.ci_low is not None and wall.ci_low <= wall.value <= (wall.ci_high or 0)
    assert len(measured.responses) == 4


def test_merge_repeats_median_and_spread() -> None:
    runs = [{"x": Value(value=v, unit="s")} for v in (3.0, 1.0, 2.0)]
    merged = merge_repeats(runs)["x"]
    assert (merged.value, merged.ci_low, merged.ci_high) == (2.0, 1.0, 3.0)


def test_roofline_flops_and_peaks(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.hardware import peaks as peaks_module
    from harness.hardware.params import head_weights, linear_weights
    from harness.hardware.shapes import attention_flops
    from harness.profilers.roofline import RooflineProfiler
    from tests.test_variants import _load

    monkeypatch.setenv("LIMITBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(peaks_module, "MIN_TIME_S", 0.05)
    loaded = _load(tiny_model_dir)
    model = loaded.backend.model
    config = model.config
    shape = loaded.backend.model_shape()
    assert shape is not None and shape.source == "the loaded torch modules"
    assert shape.body_params == linear_weights(model) - head_weights(model)
    width = config.num_attention_heads * config.head_dim
    assert shape.kv_width == config.num_key_value_heads * config.head_dim
    pairs = 10 * 11 // 2 + 20 * 21 // 2  # causal pairs of two requests, 10 and 20 tokens
    expected = 4 * config.num_hidden_layers * width * pairs
    assert attention_flops(shape, [10, 20], 4096) == expected
    assert linear_weights(model) > config.vocab_size * config.hidden_size  # head included
    assert RooflineProfiler().available() is not None  # no backend, no FLOP count
    prof = RooflineProfiler(loaded.backend)
    assert prof.available() is None
    prof.start()
    responses = loaded.backend.loglikelihood_rolling([RollingLogLikelihood("some text here")])
    out = prof.stop(
        Work(
            n_requests=1,
            input_tokens=responses[0].n_tokens or 0,
            computed_tokens=responses[0].n_tokens or 0,
            input_lengths=[responses[0].n_tokens or 0],
            backend=loaded.backend,
        )
    )
    assert 0 < out["mfu"].value < 1 and out["peak_flops_float32"].unit == "FLOP/s"
    assert (tmp_path / "peaks.json").exists()
