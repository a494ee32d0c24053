"""The vllm engine's options and its own knobs.

Every option is a load option: vLLM fixes its dtype, context, scheduler limits and KV cache
when its `LLM` is built. None means "vLLM decides" (its own default, recorded in the
backend's details), so a suite that sets nothing measures vLLM as its users run it.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Annotated

from pydantic import Field, field_validator

from harness.backends.base import EngineOptions
from harness.backends.options import Dtype, NonNegativeInt, PositiveInt, PositiveNumber
from harness.variants.base import knob

# Shared with hf and llamacpp: dtype, max_length, quant (already registered). `quant` here
# is vLLM's quantization method, chosen at load like llama.cpp's level; a second knob name
# for "weight quantization" would give one meaning two names.
knob("max_model_len", "vLLM: the engine's context length in tokens", "load", unit="tokens")
knob(
    "gpu_memory_utilization",
    "vLLM: share of the GPU's memory it may take (weights, activations, KV cache)",
    "load",
    unit="fraction",
)
knob(
    "max_num_seqs",
    "vLLM: most sequences its scheduler runs in one step (a cap; it batches continuously)",
    "load",
    unit="seqs",
)
knob("enable_prefix_caching", "vLLM: reuse the KV cache of a shared prompt prefix", "load")
knob("tensor_parallel_size", "vLLM: GPUs each layer's weights are split across", "load")
knob("enforce_eager", "vLLM: no CUDA graphs or torch.compile (eager PyTorch)", "load")
knob("kv_cache_space_gb", "vLLM: memory reserved for the KV cache", "load", unit="GiB")
knob("seed", "the engine's random seed (sampling, initialisation)", "load")

# On a CPU nothing sizes the KV cache for vLLM (its auto-sizing wants 92% of the machine
# and refuses to start on a shared one); 2 GiB holds ~46k tokens of SmolLM2 in float32.
CPU_KV_CACHE_GB = 2.0
UnitFraction = Annotated[float, Field(gt=0, le=1)]


class VLLMOptions(EngineOptions):
    """vLLM's offline `LLM` in this process. No batch_size: vLLM batches continuously up to
    max_num_seqs; no threads: on a CPU vLLM binds its own OpenMP threads to the cores
    (OMP_NUM_THREADS, where a scheduler set it, is honoured by vLLM itself)."""

    dtype: Dtype | None = None  # None: the model config's dtype, as vLLM's "auto" picks it
    max_model_len: PositiveInt | None = None  # None: the model's max_position_embeddings
    max_length: PositiveInt | None = None  # scoring window; None: max_model_len
    gpu_memory_utilization: UnitFraction | None = None  # None: vLLM's default (0.92)
    max_num_seqs: PositiveInt | None = None  # None: vLLM's default for the device
    # None: vLLM's default (on). Scoring never reads the prefix cache: vLLM recomputes a
    # prompt whose log-probabilities are asked for, so this only changes generation.
    enable_prefix_caching: bool | None = None
    tensor_parallel_size: PositiveInt = 1
    quant: str | None = None  # vLLM's method name (fp8, awq, gptq, ...); None: as stored
    # None: eager on a CPU (vLLM has no CUDA graphs there, and compiling with inductor costs
    # minutes of load on a small machine), vLLM's own default (graphs) on a GPU, which is
    # what a deployment measures.
    enforce_eager: bool | None = None
    kv_cache_space_gb: PositiveNumber | None = None  # None: 2 GiB on a CPU; GPU: the share
    seed: NonNegativeInt = 0

    @field_validator("quant")
    @classmethod
    def _a_vllm_method(cls, value: str | None) -> str | None:
        methods = vllm_quant_methods()
        if value is not None and methods and value not in methods:
            raise ValueError(
                f"not a vLLM quantization method; expected one of {', '.join(methods)}"
            )
        return value


@functools.cache
def vllm_quant_methods() -> tuple[str, ...]:
    """vLLM's own list, where vLLM is installed (plan time runs in its environment, after
    the engine's `requires` passed); empty elsewhere, where the engine cannot load anyway."""
    if importlib.util.find_spec("vllm") is None:
        return ()
    from vllm.model_executor.layers.quantization import QUANTIZATION_METHODS

    return tuple(QUANTIZATION_METHODS)
