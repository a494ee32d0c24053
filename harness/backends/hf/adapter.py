"""A LoRA (peft) adapter as a variant: loaded onto the base model and merged into its
weights, as an adapter is deployed for one task, so the variant runs the base's architecture
and dense kernels with the adapted weights, and compares with its base like any other
variant (quality, KL, speed, memory)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.core.errors import UserError
from harness.core.perf_names import PerfName
from harness.variants.facts import Measure, Note, TransformFacts

EXTRA = "pip install 'limitbench[peft]'"


def adapter_folder(value: str, base_dir: Path) -> Path:
    """The adapter folder a knob value names (relative paths from the suite's folder)."""
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not (path / "adapter_config.json").is_file():
        raise UserError(
            f"knob 'adapter' = {value}: {path} holds no adapter_config.json; expected a peft "
            "adapter folder (what PeftModel.save_pretrained writes)"
        )
    return path


def apply_adapter(backend: Any, value: str, base_dir: Path) -> TransformFacts:
    try:
        from peft import PeftModel
    except ImportError:
        raise UserError(f"knob 'adapter' needs peft: {EXTRA}") from None
    folder = adapter_folder(value, base_dir)
    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    try:
        wrapped = PeftModel.from_pretrained(backend.model, str(folder))
    except (ValueError, KeyError, RuntimeError) as err:
        raise UserError(f"knob 'adapter' = {value}: does not fit this model ({err})") from None
    trained = sum(p.numel() for n, p in wrapped.named_parameters() if "lora_" in n)
    backend.model = wrapped.merge_and_unload()
    backend.model.eval()
    kind = config.get("peft_type", "adapter")
    return TransformFacts.of(
        Measure(PerfName.ADAPTER_PARAMS, trained, "params"),
        Note(
            "adapter",
            f"{kind} r={config.get('r')} on {', '.join(sorted(config.get('target_modules') or []))}"
            f" from {folder.name}, merged into the base weights (the base's kernels)",
        ),
    )
