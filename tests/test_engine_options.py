"""Each engine's typed options decide, at plan time, which knobs a suite may set on it: the
whole engine x knob matrix, the message a refused knob gets, the defaults, and that the
variant ids of the shipped suites (the join key baselines pair on) did not change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.backends import BACKENDS
from harness.backends.encoder.options import EncoderOptions
from harness.backends.hf.options import HFOptions
from harness.backends.llamacpp.options import LlamaCppOptions
from harness.backends.options import check_variants, engines_honouring
from harness.core.errors import UserError
from harness.core.values import Scalar
from harness.suite.schema import ModelConfig, ServerConfig, load_suite
from harness.variants import KNOBS, Variant, expand_variants
from tests.conftest import run_cli

# A valid value of every registered knob, so an honoured knob passes its engine's checks.
SAMPLE: dict[str, Scalar] = {
    "batch_size": 4,
    "batch_tokens": 512,
    "concurrency": 2,
    "decode": "static",
    "device": "cpu",
    "adapter": "lee-lora",  # a folder name; its contents are checked when it is applied
    "drop_middle": 2,
    "dtype": "bfloat16",
    "enable_prefix_caching": False,
    "enforce_eager": True,
    "gpu_memory_utilization": 0.5,
    "kv_cache_space_gb": 1.0,
    "layers": 3,
    "max_length": 256,
    "max_model_len": 1024,
    "max_num_seqs": 8,
    "mock_delay_s": 0.0,
    "mock_quality": 0.5,
    "n_batch": 128,
    "n_ctx": 1024,
    "n_gpu_layers": 0,
    "quant": "q8_0",  # a level both hf (GGUF round-trip) and llama.cpp have
    "repeat": 2,
    "request_rate": 5.0,
    "seed": 0,
    "share_context": False,
    "sparsity": 0.5,
    "tensor_parallel_size": 1,
    "threads": 2,
}
# What each engine honours (and `repeat`, which every engine honours by ignoring it): the
# contract a suite author reads in `limitbench list`.
HONOURED = {
    "mock": {"mock_quality", "mock_delay_s"},
    "openai": {"concurrency", "request_rate"},
    "llamacpp": {"threads", "max_length", "n_ctx", "n_batch", "n_gpu_layers", "quant"},
    "encoder": {"dtype", "threads", "batch_size", "max_length", "quant"},
    "vllm": {
        "dtype",
        "max_model_len",
        "max_length",
        "gpu_memory_utilization",
        "max_num_seqs",
        "enable_prefix_caching",
        "tensor_parallel_size",
        "quant",
        "enforce_eager",
        "kv_cache_space_gb",
        "seed",
    },
    "hf": {
        "dtype",
        "device",
        "threads",
        "batch_size",
        "share_context",
        "max_length",
        "batch_tokens",
        "layers",
        "drop_middle",
        "sparsity",
        "quant",
        "adapter",
        "decode",
    },
}


def _model(backend: str) -> ModelConfig:
    server = ServerConfig(model="m", url="http://127.0.0.1:9/v1") if backend == "openai" else None
    return ModelConfig(name="m", source="x", backend=backend, server=server)


# Where an engine's own levels differ from the sample: the encoder's one real quantization.
ENGINE_SAMPLE: dict[tuple[str, str], Scalar] = {
    ("encoder", "quant"): "int8_dynamic",
    ("vllm", "quant"): "fp8",  # a vLLM method (checked against vLLM's list where it is installed)
}


def _check(backend: str, knob: str) -> None:
    value = ENGINE_SAMPLE.get((backend, knob), SAMPLE[knob])
    check_variants([Variant(_model(backend), ((knob, value),))], "s.yaml")


@pytest.fixture(autouse=True)
def llamacpp_present(monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.backends.llamacpp.factory as factory
    import harness.backends.vllm.factory as vllm_factory

    monkeypatch.setattr(factory, "missing_extra", lambda: None)
    monkeypatch.setattr(vllm_factory, "missing_extra", lambda: None)


def test_every_option_is_a_registered_knob_with_a_sample() -> None:
    assert sorted(BACKENDS.names()) == sorted(HONOURED)
    for name, engine in BACKENDS:
        assert set(engine.options.model_fields) == HONOURED[name] | {"repeat"}, name
    assert set(SAMPLE) == {name for name, _ in KNOBS}


def test_every_engine_honours_repeat_by_changing_nothing() -> None:
    # the invariance audit's noise floor: the same configuration loaded and run again
    for name, engine in BACKENDS:
        assert "repeat" in engine.options.model_fields, name
        assert engine.options.model_validate({}).knobs().get("repeat") is None


@pytest.mark.parametrize(
    ("backend", "knob"), [(b, k) for b in sorted(HONOURED) for k in sorted(SAMPLE)]
)
def test_the_engine_knob_matrix(backend: str, knob: str) -> None:
    honoured = HONOURED[backend] | {"repeat"}
    if knob in honoured:
        _check(backend, knob)
        return
    with pytest.raises(UserError) as err:
        _check(backend, knob)
    message = str(err.value)
    assert f"s.yaml: model 'm' (backend '{backend}'): knob '{knob}' is not honoured" in message
    assert ", ".join(sorted(honoured)) in message


def test_a_refused_knob_names_a_close_match() -> None:
    with pytest.raises(
        UserError, match=r"knob 'n_ctxx' is not honoured .* \(did you mean 'n_ctx'\?\)$"
    ):
        check_variants([Variant(_model("llamacpp"), (("n_ctxx", 1),))], "s.yaml")
    with pytest.raises(UserError, match=r"did you mean 'batch_size'"):
        check_variants([Variant(_model("hf"), (("batch_sizes", 1),))], "s.yaml")


@pytest.mark.parametrize(
    ("backend", "knob", "value", "message"),
    [
        ("hf", "batch_size", 0, "greater than 0"),
        ("hf", "batch_size", True, "valid integer"),
        ("hf", "dtype", "int4", "'float32', 'bfloat16' or 'float16'"),
        ("hf", "sparsity", 1.0, "less than 1"),
        ("hf", "quant", "q4_k_m", "need the model's backend: llamacpp"),
        ("llamacpp", "quant", "int8_dynamic", "not a llama.cpp quantization level"),
        ("llamacpp", "n_gpu_layers", -2, "greater than or equal to -1"),
        ("openai", "request_rate", 0, "greater than 0"),
    ],
)
def test_values_are_checked_by_the_engine(
    backend: str, knob: str, value: Scalar, message: str
) -> None:
    with pytest.raises(UserError, match=rf"knob '{knob}' = {value!r}: .*{message}"):
        check_variants([Variant(_model(backend), ((knob, value),))], "s.yaml")


def test_defaults_live_in_the_options() -> None:
    hf = HFOptions()
    assert (hf.batch_size, hf.batch_tokens, hf.dtype, hf.share_context) == (
        8,
        1024,
        "auto",  # the checkpoint's dtype on an accelerator, float32 on a CPU
        True,
    )
    assert hf.knobs() == {
        "dtype": "auto",
        "batch_size": 8,
        "share_context": True,
        "batch_tokens": 1024,
    }
    llama = LlamaCppOptions()
    assert (llama.n_ctx, llama.n_batch, llama.n_gpu_layers) == (2048, 512, 0)
    encoder = EncoderOptions()
    assert encoder.knobs() == {"dtype": "float32", "batch_size": 32}
    assert engines_honouring("batch_size") == ["encoder", "hf"]
    assert engines_honouring("quant") == ["encoder", "hf", "llamacpp", "vllm"]


def test_the_cli_refuses_dtype_on_a_served_model(
    tmp_path: Path,
    ppl_suite: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exit 2 at plan time, nothing written, one message naming what openai honours."""
    model: dict[str, Any] = {
        "name": "served",
        "source": "x",
        "backend": "openai",
        "server": {"model": "m", "url": "http://127.0.0.1:9/v1"},
    }
    suite = ppl_suite([model], axes={"dtype": ["bfloat16"]})
    out = tmp_path / "results"
    code = run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--limit", "1")
    err = capsys.readouterr().err
    assert code == 2, err
    assert "knob 'dtype' is not honoured by this backend, which honours concurrency, " in err
    assert "Traceback" not in err and not out.exists()


def test_the_shipped_suites_plan_to_the_same_variant_ids() -> None:
    """Recorded before the options models replaced the shared knob list (at 4f48bde); every
    variant also passes its engine's options."""
    path = Path("suites/default.yaml")
    variants = expand_variants(load_suite(path), str(path))
    check_variants(variants, str(path))
    ids = [v.id for v in variants]
    assert ids == [
        "smollm2-135m",
        "gemma3-270m",
        "smollm2-135m@dtype=bfloat16",
        "smollm2-135m@quant=q4_0",
        "smollm2-135m@quant=int8_dynamic",
        "smollm2-135m@drop_middle=6",
        "smollm2-135m@drop_middle=12",
        "smollm2-135m@drop_middle=18",
        "smollm2-135m-gguf@quant=f16",
        "smollm2-135m-gguf@quant=q4_k_m",
        "smollm2-135m-gguf@quant=q2_k",
        "smollm2-135m-served@concurrency=1",
        "smollm2-135m-served@concurrency=2",
        "smollm2-135m-served@concurrency=4",
    ]


def test_entry_point_groups_have_no_spaces_and_old_ones_still_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import harness.core.registry as registry

    loaded: list[str] = []

    class EntryPoint:
        def __init__(self, name: str) -> None:
            self.name = name

        def load(self) -> None:
            loaded.append(self.name)

    groups = {"limitbench.data_format": [EntryPoint("new")], "limitbench.data format": []}
    groups["limitbench.data format"] = [EntryPoint("old")]
    monkeypatch.setattr(registry, "entry_points", lambda group: groups.get(group, []))
    formats: registry.Registry[int] = registry.Registry("data format")
    assert formats.group == "limitbench.data_format"
    with pytest.warns(DeprecationWarning, match="'limitbench.data format', which is deprecated"):
        formats.names()
    assert loaded == ["new", "old"]
