"""The encoder engine's options: what it honours, with checks and defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from harness.backends.base import EngineOptions
from harness.backends.options import Dtype, PositiveInt


class EncoderOptions(EngineOptions):
    """A transformers encoder in process (BERT-style): texts in, pooled vectors out. No
    layer or sparsity transforms; torch's dynamic int8 is its one real quantization (int8
    weights and int8 matmul kernels on CPU)."""

    dtype: Dtype = "float32"
    threads: PositiveInt | None = None  # None: torch's default
    batch_size: PositiveInt = 32
    max_length: PositiveInt | None = None  # None: the model's max_position_embeddings
    quant: Literal["int8_dynamic"] | None = None

    @model_validator(mode="after")
    def _int8_on_float32(self) -> EncoderOptions:
        if self.quant == "int8_dynamic" and self.dtype != "float32":
            raise ValueError(
                f"quant 'int8_dynamic' quantizes float32 Linear layers (torch's dynamic int8 "
                f"kernels take float32 activations); drop dtype '{self.dtype}' for it"
            )
        return self
