"""Load one variant: backend from its factory, then the transform knobs in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.backends import BACKENDS, Backend
from harness.values import Value
from harness.variants import KNOBS, Variant

# Units of the numeric facts that transforms report, for the record's perf section.
DETAIL_UNITS = {
    "bits_per_weight": "bits",
    "mean_bits_per_parameter": "bits",
    "weight_bytes_quantized": "B",
    "n_params_effective": "params",
    "sparsity": "fraction",
    "layers_kept": "layers",
    "layers_original": "layers",
    "file_bytes": "B",
    "resident_bytes": "B",
}


@dataclass
class LoadedVariant:
    backend: Backend
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        """Effective parameters: non-zero after pruning, kept layers after truncation."""
        return int(self.details.get("n_params_effective", self.backend.info.n_params))

    def perf_values(self) -> dict[str, Value]:
        return {
            name: Value(value=float(value), unit=DETAIL_UNITS[name])
            for name, value in self.details.items()
            if name in DETAIL_UNITS
        }

    def conventions(self) -> dict[str, str]:
        out = {k: str(v) for k, v in self.details.items() if k not in DETAIL_UNITS}
        vocab = self.backend.info.details.get("vocab_size")
        if vocab is not None:  # the report flags perplexities above it
            out["vocab_size"] = str(vocab)
        return out


def load_variant(variant: Variant, base_dir: Path) -> LoadedVariant:
    factory = BACKENDS.get(variant.model.backend)
    backend = factory(variant.model, variant.knob_dict, base_dir)
    # Facts fixed at load (e.g. the llama.cpp file's real bytes), then the transforms' own.
    details: dict[str, Any] = dict(getattr(backend, "load_details", {}))
    transforms = [(KNOBS.get(name), value) for name, value in variant.knobs]
    for knob, value in sorted(transforms, key=lambda kv: kv[0].order):
        if knob.stage == "transform" and knob.apply is not None:
            details.update(knob.apply(backend, value))
    refresh: Any = getattr(backend, "refresh_info", None)
    if details and refresh is not None:
        refresh()
    return LoadedVariant(backend, details)
