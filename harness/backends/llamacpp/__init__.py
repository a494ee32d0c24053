"""The llama.cpp engine: GGUF files in process on llama.cpp's own kernels.

  options.py   LlamaCppOptions: the knobs it honours (no dtype: the weight format is the
               `quant` level; no batch_size: batching is llama.cpp's n_batch)
  factory.py   loads the file (or a level of the ladder, ladder.py, levels.py)
  backend.py   LlamaCppBackend: the request kinds (decode.py: logits per position)

Importing this package registers the engine; llama-cpp-python is imported only to load.
"""

from __future__ import annotations

from harness.backends.base import BACKENDS, Engine
from harness.backends.llamacpp import factory
from harness.backends.llamacpp.levels import LLAMACPP_LEVELS
from harness.backends.llamacpp.options import LlamaCppOptions

ENGINE = BACKENDS.register("llamacpp")(
    Engine(
        factory.load_llamacpp,
        LlamaCppOptions,
        requires=lambda: factory.missing_extra(),  # looked up late: tests stand in for it
        description="llama.cpp in process (llama-cpp-python), GGUF files",
        quant_ladder="real llama.cpp kernels",
        quant_levels=tuple(LLAMACPP_LEVELS),
    )
)
