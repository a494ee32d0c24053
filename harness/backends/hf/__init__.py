"""The transformers engine: torch models in process, and the transforms it can apply.

  options.py   HFOptions: the knobs it honours, with their checks and defaults
  load.py      weights and tokenizer from a local folder, a pip: package or a GGUF file
  backend.py   HFBackend: the request kinds (scoring.py, head.py, shared.py, generate.py)
  prune.py quantize.py adapter.py   the model transforms (layers, drop_middle, sparsity,
               quant, adapter); top_tokens.py the distributions a KL compares

Importing this package registers the engine; torch is imported only when a model loads.
"""

from __future__ import annotations

from pathlib import Path

from harness.backends.base import BACKENDS, Backend, Engine
from harness.backends.hf.options import HFOptions
from harness.suite.schema import ModelConfig


def load_hf(cfg: ModelConfig, options: HFOptions, base_dir: Path) -> Backend:
    from harness.backends.hf.backend import HFBackend
    from harness.backends.shared_transformers.load import load_model

    model, tokenizer, source = load_model(cfg, options.knobs(), base_dir)
    return HFBackend(cfg.name, source, model, tokenizer, options, base_dir)


ENGINE = BACKENDS.register("hf")(
    Engine(load_hf, HFOptions, description="transformers in process (torch)")
)
