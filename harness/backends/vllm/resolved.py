"""What vLLM chose, read back from its engine config once it is built: the options a suite
left to vLLM (None in VLLMOptions) are the ones a record most needs stated, since vLLM picks
them per model and device (the checkpoint's dtype under "auto", max_num_seqs by device).
Every vLLM object is typed Any here, as in engine.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.backends.resolved import ResolvedConfig, imported_versions, known
from harness.backends.vllm.options import VLLMOptions
from harness.core.values import Scalar

GIB = 1 << 30
LIBRARIES = ("vllm", "torch", "transformers")


def _read(obj: Any, name: str) -> Scalar | None:
    """A config attribute as a plain value; None where this vLLM version has no such field."""
    value = getattr(obj, name, None)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value).removeprefix("torch.")


def vllm_resolved(
    llm: Any, options: VLLMOptions, device: str, max_length: int, reported: Mapping[str, Scalar]
) -> ResolvedConfig:
    """The `LLM`'s configuration as it was built; the backend calls this at load."""
    config = llm.llm_engine.vllm_config
    model, cache, scheduler = config.model_config, config.cache_config, config.scheduler_config
    parallel = getattr(config, "parallel_config", None)
    kv_bytes = _read(cache, "kv_cache_memory_bytes")
    ran: dict[str, Scalar | None] = {
        "dtype": _read(model, "dtype"),
        "max_model_len": _read(model, "max_model_len"),
        "max_length": max_length,
        "gpu_memory_utilization": _read(cache, "gpu_memory_utilization"),
        "max_num_seqs": _read(scheduler, "max_num_seqs"),
        "enable_prefix_caching": _read(cache, "enable_prefix_caching"),
        "tensor_parallel_size": _read(parallel, "tensor_parallel_size")
        or options.tensor_parallel_size,
        "quant": _read(model, "quantization") or "none",
        "enforce_eager": _read(model, "enforce_eager"),
        "kv_cache_space_gb": float(kv_bytes) / GIB if isinstance(kv_bytes, int) else None,
        "seed": options.seed,
        "repeat": options.repeat,
    }
    unknown = {
        name: "this vLLM version's engine config has no such field"
        for name, value in ran.items()
        if value is None and name != "repeat"
    }
    if "kv_cache_space_gb" in unknown:
        unknown["kv_cache_space_gb"] = (
            "vLLM sized the KV cache itself (by profiling the GPU's free memory); its block "
            "count is in `reported` where vLLM exposes it"
        )
    blocks = {k: _read(cache, k) for k in ("num_gpu_blocks", "num_cpu_blocks", "block_size")}
    dtype = ran["dtype"]
    return ResolvedConfig(
        dtype=str(dtype) if dtype is not None else None,
        device=device,
        options=known(ran),
        reported={**reported, **known(blocks)},
        unknown=unknown,
        libraries=imported_versions(LIBRARIES),
    )
