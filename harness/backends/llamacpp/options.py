"""The llama.cpp engine's options and its own knobs."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from harness.backends.base import EngineOptions
from harness.backends.llamacpp.levels import llamacpp_level_check
from harness.backends.options import PositiveInt
from harness.variants.base import knob

DEFAULT_N_CTX = 2048

knob("n_ctx", "llama.cpp context size in tokens (KV cache)", "load", unit="tokens")
knob("n_batch", "llama.cpp tokens per decode call (prompt batch)", "load", unit="tokens")
knob(
    "n_gpu_layers",
    "llama.cpp layers offloaded to the GPU (-1 = all; needs a GPU build)",
    "load",
    unit="layers",
)


class LlamaCppOptions(EngineOptions):
    """The weight format is the `quant` level (a file of the ladder), so there is no dtype;
    batching is llama.cpp's own (n_batch tokens per decode call), so no batch_size."""

    threads: PositiveInt | None = None  # None: the CPUs this process may use
    max_length: PositiveInt | None = None  # None: n_ctx
    n_ctx: PositiveInt = DEFAULT_N_CTX
    n_batch: PositiveInt = 512
    n_gpu_layers: Annotated[int, Field(ge=-1)] = 0
    quant: str | None = None  # None: the source GGUF as it is

    @field_validator("quant")
    @classmethod
    def _a_level(cls, value: str | None) -> str | None:
        problem = llamacpp_level_check(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value
