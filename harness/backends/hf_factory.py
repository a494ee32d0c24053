"""Registers the transformers backend without importing torch until it is used."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from harness.backends.base import BACKENDS, Backend
from harness.config import ModelConfig
from harness.values import Scalar


@BACKENDS.register("hf")
def load_hf(cfg: ModelConfig, knobs: Mapping[str, Scalar], base_dir: Path) -> Backend:
    from harness.backends.hf import HFBackend
    from harness.backends.hf_load import load_model

    model, tokenizer, source = load_model(cfg, knobs, base_dir)
    return HFBackend(cfg.name, source, model, tokenizer, knobs)
