"""How the transformers engine decodes: its KV cache and whether the decode step is compiled.

  dynamic    transformers' default DynamicCache, grown every step, eager kernels
  static     a StaticCache allocated once per batch shape, eager kernels
  compiled   a StaticCache and a torch.compile'd decode step (transformers' own static-cache
             path; CUDA graphs on a GPU): the fastest on a GPU, with a compile per batch shape

Prompt widths are padded to a bucket in the static modes so that a unit's batches share few
cache shapes: each new shape costs a compile (tens of seconds on a GPU), paid before the
measured window by `prepare_generation` and recorded on its own.
"""

from __future__ import annotations

from typing import Any, Literal

DecodeMode = Literal["dynamic", "static", "compiled"]
# Per device, the default. CPU, measured on this project's 2 cores (SmolLM2 fp32, batch 8,
# 64 tokens, median of 3): dynamic 73.2 ms per step, static 74.7 ms, compiled 68.8 ms after a
# 42.8 s compile per batch shape, so dynamic stays the default there (compiled pays off only
# past ~600 steps of one shape). CUDA: transformers' compiled static path, the reference the
# GPU benchmark holds the harness to.
DEFAULT_MODE: dict[str, DecodeMode] = {"cpu": "dynamic", "cuda": "compiled"}
WIDTH_BUCKET = 64  # tokens: prompt widths round up to this in the static modes


def resolve_mode(asked: DecodeMode | None, device_type: str) -> DecodeMode:
    if asked is not None:
        return asked
    return DEFAULT_MODE.get(device_type, "dynamic")


def generate_kwargs(mode: DecodeMode, device_type: str) -> dict[str, Any]:
    """The arguments of `model.generate` that select the mode."""
    if mode == "dynamic":
        return {}
    if mode == "static":
        return {"cache_implementation": "static", "disable_compile": True}
    from transformers import CompileConfig

    # CUDA graphs ("reduce-overhead") on a GPU; plain inductor elsewhere, where transformers
    # compiles only when asked to for every device.
    config = CompileConfig(mode="reduce-overhead" if device_type == "cuda" else "default")
    if device_type != "cuda":
        config._compile_all_devices = True  # type: ignore[assignment]  # declared None
    return {"cache_implementation": "static", "compile_config": config}


def bucketed_width(width: int, mode: DecodeMode) -> int:
    if mode == "dynamic":
        return width
    return -(-width // WIDTH_BUCKET) * WIDTH_BUCKET
