"""The transformers engine's options: every shared knob, and the transforms."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from harness.backends.base import EngineOptions
from harness.backends.hf.decode_modes import DecodeMode
from harness.backends.options import DtypeOrAuto, Fraction, NonNegativeInt, PositiveInt

# Rows × positions per forward: bounds activations (attention and MLP intermediates), so a
# unit's peak memory is weights + this many tokens' activations + hf_head's logits budget.
BATCH_TOKENS = 1024


class HFOptions(EngineOptions):
    """transformers in process: every shared knob, and the transforms (it holds the torch
    model they rewrite)."""

    # auto: the checkpoint's dtype on an accelerator, float32 on a CPU (placement.py)
    dtype: DtypeOrAuto = "auto"
    # None: the accelerator torch sees (cuda, else mps), else cpu; cuda for bitsandbytes
    # levels. Any device name torch takes (cuda:1).
    device: str | None = None
    threads: PositiveInt | None = None  # None: torch's default
    batch_size: PositiveInt | Literal["auto"] = 8  # auto: probed at load (auto_batch.py)
    share_context: bool = True
    max_length: PositiveInt | None = None  # None: the model's max_position_embeddings
    batch_tokens: PositiveInt = BATCH_TOKENS
    layers: NonNegativeInt | None = None
    drop_middle: NonNegativeInt | None = None
    sparsity: Fraction | None = None
    quant: str | None = None
    adapter: str | None = None  # a peft adapter folder (relative: from the suite's folder)
    decode: DecodeMode | None = None  # None: the fastest measured on the device's type

    @field_validator("quant")
    @classmethod
    def _an_hf_level(cls, value: str | None) -> str | None:
        from harness.backends.shared_transformers.quantize import hf_quant_check

        problem = hf_quant_check(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value
