"""The encoder engine: a BERT-style transformers encoder in process, answering Embed requests
with its pooled output (as its sentence-transformers pooling config says), for a probe.

  options.py   EncoderOptions: the knobs it honours, with their checks and defaults
  backend.py   loading (refusing decoders), pooling, batched embedding, int8 dynamic quant

Importing this package registers the engine; torch is imported only when a model loads.
"""

from __future__ import annotations

from pathlib import Path

from harness.backends.base import BACKENDS, Backend, Engine
from harness.backends.encoder.options import EncoderOptions
from harness.core.requests import Embed
from harness.suite.schema import ModelConfig


def load_encoder(cfg: ModelConfig, options: EncoderOptions, base_dir: Path) -> Backend:
    from harness.backends.encoder.backend import open_encoder

    return open_encoder(cfg, options, base_dir)


ENGINE = BACKENDS.register("encoder")(
    Engine(
        load_encoder,
        EncoderOptions,
        description="a transformers encoder (embeddings, for a probe)",
        answers=frozenset({Embed}),
    )
)
