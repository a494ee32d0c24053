"""The vllm engine: vLLM's offline `LLM` in this process (continuous batching, its kernels).

  options.py   VLLMOptions: the knobs it honours (all fixed when the engine is built)
  factory.py   resolves the source as hf does (a GGUF is dequantized to the same folder) and
               builds the engine; missing_extra() says how to get vLLM
  backend.py   VLLMBackend: scoring from vLLM's prompt log-probabilities; generate.py greedy
               generation with per-request times; engine.py what it reads from vLLM's objects

Importing this package registers the engine; vLLM is imported only to load. vLLM pins its
own torch and transformers, so it usually lives in a separate environment
(harness/backends/envs.py): a suite using this engine runs under that environment's limitbench.
"""

from __future__ import annotations

from harness.backends.base import BACKENDS, Engine
from harness.backends.vllm import factory
from harness.backends.vllm.options import VLLMOptions

ENGINE = BACKENDS.register("vllm")(
    Engine(
        factory.load_vllm,
        VLLMOptions,
        requires=lambda: factory.missing_extra(),  # looked up late: tests stand in for it
        description="vLLM's offline LLM in process (continuous batching)",
    )
)
