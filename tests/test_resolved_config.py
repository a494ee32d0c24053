"""Records state the configuration that ran, and the transformers engine is GPU first.

The device is faked (torch.cuda.is_available patched): the tests need no GPU. A CPU run must
keep today's cpu + float32; with CUDA "present" the engine picks cuda and the checkpoint's
dtype. Every record carries the resolved options and library versions; an old record
without them still loads and reads as before.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from harness.backends.openai.served_config import model_entry_facts, served_resolved
from harness.backends.shared_transformers import load as hf_load
from harness.backends.shared_transformers.placement import resolve_placement, stored_dtype
from harness.backends.vllm.options import VLLMOptions
from harness.backends.vllm.resolved import vllm_resolved
from harness.report.analysis.aggregate import axis_values
from harness.store.records import Record, RunStore
from harness.suite.schema import ModelConfig
from harness.variants.base import is_unmodified
from harness.variants.resolved import ResolvedConfig
from tests.conftest import run_cli

V1_RUN = Path(__file__).parent / "fixtures" / "run_v1"


def _fake_cuda(monkeypatch: pytest.MonkeyPatch, present: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: present)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.fixture(scope="module")
def bf16_checkpoint(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Llama saved in bfloat16: its config states `dtype: bfloat16`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tmp_path_factory.mktemp("tiny-bf16")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(folder)
    assert json.loads((folder / "config.json").read_text())["dtype"] == "bfloat16"
    return folder


def test_placement_is_gpu_first_and_keeps_the_cpu_path(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[bool] = []

    def stored() -> str:
        read.append(True)
        return "bfloat16"

    _fake_cuda(monkeypatch, present=True)
    on_gpu = resolve_placement(None, "auto", stored)
    assert (on_gpu.device, on_gpu.dtype) == ("cuda", "bfloat16")
    assert resolve_placement(None, "float32", stored).dtype == "float32"  # asked: kept
    assert resolve_placement("cpu", "auto", stored).dtype == "float32"  # asked cpu: float32
    # A config that states no dtype was saved in float32.
    assert resolve_placement(None, "auto", lambda: None).dtype == "float32"
    # torch's dynamic int8 has CPU kernels only: it stays there beside a GPU, in float32
    int8 = resolve_placement(None, "auto", stored, cpu_only=True)
    assert (int8.device, int8.dtype) == ("cpu", "float32")
    _fake_cuda(monkeypatch, present=False)
    read.clear()
    on_cpu = resolve_placement(None, "auto", stored)
    assert (on_cpu.device, on_cpu.dtype) == ("cpu", "float32")
    assert read == []  # the CPU path reads nothing more than before
    # bitsandbytes levels need CUDA, present or not: its own error comes from the load.
    assert resolve_placement(None, "auto", stored, bitsandbytes=True).device == "cuda"


def test_stored_dtype_reads_both_config_spellings() -> None:
    assert stored_dtype(SimpleNamespace(dtype=torch.bfloat16)) == "bfloat16"
    assert stored_dtype(SimpleNamespace(dtype=None, torch_dtype="float16")) == "float16"
    assert stored_dtype(SimpleNamespace(dtype="int8")) is None  # not a dtype we run
    assert stored_dtype(SimpleNamespace()) is None


def _load(folder: Path, monkeypatch: pytest.MonkeyPatch, cuda: bool) -> tuple[Any, list[str]]:
    """load_model with CUDA faked present or absent; `.to(device)` is recorded, not run."""
    _fake_cuda(monkeypatch, present=cuda)
    moved: list[str] = []

    def to(self: torch.nn.Module, *args: Any, **kwargs: Any) -> torch.nn.Module:
        moved.append(str(args[0] if args else kwargs.get("device")))
        return self

    monkeypatch.setattr(torch.nn.Module, "to", to)
    cfg = ModelConfig(name="tiny", source=str(folder))
    model, _, _ = hf_load.load_model(cfg, {}, folder)
    return model, moved


def test_with_cuda_present_the_model_goes_to_cuda_in_the_checkpoints_dtype(
    bf16_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, moved = _load(bf16_checkpoint, monkeypatch, cuda=True)
    assert moved == ["cuda"]
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def test_without_cuda_the_model_stays_on_cpu_in_float32(
    bf16_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, moved = _load(bf16_checkpoint, monkeypatch, cuda=False)
    assert moved == ["cpu"]
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_hf_backend_states_every_option_as_it_ran(tiny_model_dir: Path) -> None:
    from harness.backends.hf.backend import HFBackend
    from harness.backends.hf.options import HFOptions

    cfg = ModelConfig(name="tiny", source=str(tiny_model_dir))
    model, tok, source = hf_load.load_model(cfg, {}, tiny_model_dir)
    resolved = HFBackend("tiny", source, model, tok, HFOptions()).resolved()
    assert (resolved.dtype, resolved.device) == ("float32", "cpu")
    options = resolved.options
    assert (options["dtype"], options["device"], options["decode"]) == ("float32", "cpu", "dynamic")
    assert (options["batch_size"], options["batch_tokens"], options["max_length"]) == (8, 1024, 256)
    assert options["threads"] == torch.get_num_threads() and options["share_context"] is True
    assert "quant" not in options and "layers" not in options  # transforms not applied
    assert resolved.libraries["torch"] == torch.__version__
    assert resolved.libraries["transformers"] == __import__("transformers").__version__


def test_vllm_states_what_it_chose() -> None:
    """vLLM's own choices (the checkpoint's bf16 under "auto", its max_num_seqs) are read back
    from its engine config; a field this vLLM lacks is stated unknown, with why."""
    model = SimpleNamespace(
        dtype=torch.bfloat16, max_model_len=8192, quantization=None, enforce_eager=False
    )
    cache = SimpleNamespace(
        gpu_memory_utilization=0.92,
        enable_prefix_caching=True,
        kv_cache_memory_bytes=None,
        num_gpu_blocks=4000,
        block_size=16,
    )
    config = SimpleNamespace(
        model_config=model,
        cache_config=cache,
        scheduler_config=SimpleNamespace(max_num_seqs=256),
        parallel_config=SimpleNamespace(tensor_parallel_size=1),
    )
    llm = SimpleNamespace(llm_engine=SimpleNamespace(vllm_config=config))
    resolved = vllm_resolved(llm, VLLMOptions(), "cuda", 8190, {"vllm": "0.0-test"})
    assert resolved.dtype == "bfloat16" and resolved.device == "cuda"
    assert resolved.options["max_num_seqs"] == 256 and resolved.options["quant"] == "none"
    assert resolved.options["enforce_eager"] is False and resolved.options["max_length"] == 8190
    assert resolved.reported["num_gpu_blocks"] == 4000 and resolved.reported["vllm"] == "0.0-test"
    assert (
        "kv_cache_space_gb" in resolved.unknown
        and "profiling" in resolved.unknown["kv_cache_space_gb"]
    )


def test_a_served_model_states_what_its_server_reports() -> None:
    entry = {"id": "m", "object": "model", "max_model_len": 4096, "meta": {"n_params": 135}}
    reported = model_entry_facts(entry)
    assert reported == {"id": "m", "max_model_len": 4096, "meta.n_params": 135}
    resolved = served_resolved("server http://x/v1", None, None, reported)
    assert resolved.dtype is None and "does not report the dtype" in resolved.unknown["dtype"]
    assert resolved.options == {} and "max_model_len" not in resolved.unknown
    loaded = served_resolved("server http://x/v1", 4, None, {"id": "m"})
    assert loaded.options == {"concurrency": 4} and "max_model_len" in loaded.unknown


def _record(**fields: Any) -> Record:
    base: dict[str, Any] = {
        "run_id": "r",
        "suite": "s",
        "task": "t",
        "task_version": 1,
        "adapter": "perplexity",
        "variant_id": "m",
        "model": "m",
        "n_params": 10,
        "knobs": {},
        "quality": {},
        "perf": {},
        "started_at": "now",
        "wall_s": 1.0,
    }
    return Record.model_validate({**base, **fields})


def test_bits_come_from_the_dtype_that_ran() -> None:
    vllm_bf16 = _record(resolved=ResolvedConfig(dtype="bfloat16", device="cuda"))
    assert axis_values(vllm_bf16)["bits_per_weight"] == 16.0  # no dtype knob, 16 bits
    served = _record(resolved=ResolvedConfig(dtype=None, device="server http://x"))
    assert math.isnan(axis_values(served)["bits_per_weight"])  # unknown, not 32
    # Records written before `resolved`: their knob, else the float32 of their time.
    assert axis_values(_record())["bits_per_weight"] == 32.0
    assert axis_values(_record(knobs={"dtype": "float16"}))["bits_per_weight"] == 16.0


def test_auto_and_absent_dtypes_are_the_base_variant() -> None:
    assert is_unmodified({}) and is_unmodified({"dtype": "auto"})
    assert is_unmodified({"dtype": "float32"})
    assert not is_unmodified({"dtype": "bfloat16"}) and not is_unmodified({"layers": 2})


def test_an_old_record_without_the_field_loads_and_reads_as_before() -> None:
    records = RunStore(V1_RUN).records()
    assert records and all(r.resolved is None for r in records)
    assert {axis_values(r)["bits_per_weight"] for r in records} == {32.0}
    line = json.loads((V1_RUN / "records.jsonl").read_text().splitlines()[0])
    assert "resolved" not in line


@pytest.mark.e2e
def test_records_of_a_run_carry_the_resolved_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ppl_suite: Any, tiny_model_dir: Path
) -> None:
    """The mock engine for the mechanics, the tiny Llama on the transformers engine for a
    real one: each record states its options as they ran and the libraries."""
    suite = ppl_suite(
        [
            {"name": "mock", "source": "x", "backend": "mock"},
            {"name": "tiny", "source": str(tiny_model_dir), "variants": {"axes": {}}},
        ]
    )
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    by_model = {r.model: r for r in RunStore(out).records()}
    mock = by_model["mock"].resolved
    assert mock is not None and mock.options == {"mock_quality": 1.0, "mock_delay_s": 0.0}
    tiny = by_model["tiny"].resolved
    assert tiny is not None and (tiny.dtype, tiny.device) == ("float32", "cpu")
    assert tiny.options["batch_size"] == 8 and tiny.options["decode"] == "dynamic"
    assert tiny.libraries["torch"] == torch.__version__ and "transformers" in tiny.libraries
    assert by_model["tiny"].knobs == {}  # what the suite wrote stays apart from what ran


@pytest.mark.slow
@pytest.mark.network
def test_the_smollm2_smoke_run_states_its_configuration(smollm2_gate_run: Path) -> None:
    """The packaged SmolLM2 (the smoke suite) on this CPU: float32, as every CPU run was."""
    for record in RunStore(smollm2_gate_run).records():
        assert record.resolved is not None
        assert (record.resolved.dtype, record.resolved.device) == ("float32", "cpu")
        assert record.resolved.options["dtype"] == "float32"
        assert set(record.resolved.libraries) >= {"torch", "transformers"}
