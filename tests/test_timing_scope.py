"""What a latency stands for: TTFT says whether it is per request or per batch, timing
repeats by default, and a fake quantization says it ran the base's kernels."""

from __future__ import annotations

from pathlib import Path

from harness.backends.mock import MockBackend
from harness.core.perf_specs import Kernels, Scope


def test_ttft_says_whether_it_is_per_batch() -> None:
    from harness.profilers.base import Work
    from harness.profilers.timing import TimingProfiler

    prof = TimingProfiler()
    prof.start()

    class LockStep(MockBackend):
        latency_scope = Scope.PER_BATCH

    backend = LockStep("m")
    work = Work(
        n_requests=2,
        input_tokens=4,
        output_tokens=4,
        latencies_s=[1.0, 1.0],
        ttfts_s=[0.2, 0.2],
        decode_steps=[3, 3],
        backend=backend,
    )
    out = prof.stop(work)
    assert out["ttft_p50"].note is not None and out["ttft_p50"].note.startswith("per batch")
    assert "input_tokens_per_s" in out and "output_tokens_per_s" in out


def test_timing_repeats_by_default_and_fake_quant_says_same_kernels(tiny_model_dir: Path) -> None:
    from harness.suite.schema import TimingConfig
    from tests.test_variants import _load

    assert TimingConfig().min_repeats >= 3
    quant = _load(tiny_model_dir, quant="q8_0")
    assert quant.facts.kernels() is Kernels.SIMULATED
    assert quant.conventions()["quant_kernels"] == "simulated"
    assert quant.conventions()["vocab_size"] == str(quant.backend.info.details["vocab_size"])
