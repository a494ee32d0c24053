"""Benchmarks load the packaged SmolLM2 once per session."""

from __future__ import annotations

from typing import Any

from tests.conftest import SMOLLM2_SOURCE


def load_smollm2(**knobs: Any) -> Any:
    from pathlib import Path

    from harness.run.load import load_variant
    from harness.suite.schema import ModelConfig
    from harness.variants import Variant

    model = ModelConfig(name="smollm2", source=SMOLLM2_SOURCE)
    return load_variant(Variant(model, tuple(sorted(knobs.items()))), Path.cwd()).backend
