"""Registers the transformers backend without importing torch until it is used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.backends.base import BACKENDS, Backend
from harness.backends.traits import BackendTraits, with_traits
from harness.config import ModelConfig
from harness.variants.quantize import hf_quant_check

# Every knob but llama.cpp's own; quant levels narrowed to the ones gguf-py/torch/bnb apply.
HF_TRAITS = BackendTraits(
    foreign=frozenset({"n_ctx", "n_batch", "n_gpu_layers"}),
    knob_checks={"quant": hf_quant_check},
)


@BACKENDS.register("hf")
@with_traits(HF_TRAITS)
def load_hf(cfg: ModelConfig, knobs: Mapping[str, Any], base_dir: Path) -> Backend:
    from harness.backends.hf import HFBackend
    from harness.backends.hf_load import load_model

    model, tokenizer, source = load_model(cfg, knobs, base_dir)
    return HFBackend(cfg.name, source, model, tokenizer, knobs)
