"""Load one variant: backend from its factory, then the transform knobs in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.backends import BACKENDS, Backend
from harness.run.identity import model_identity
from harness.store.runfiles import ModelIdentity
from harness.values import Value
from harness.variants import KNOBS, Variant
from harness.variants.facts import TransformFacts


@dataclass
class LoadedVariant:
    backend: Backend
    facts: TransformFacts = field(default_factory=TransformFacts)
    identity: ModelIdentity | None = None

    @property
    def n_params(self) -> int:
        """Effective parameters: non-zero after pruning, kept layers after truncation."""
        effective = self.facts.measure("n_params_effective")
        return int(effective if effective is not None else self.backend.info.n_params)

    def perf_values(self) -> dict[str, Value]:
        return self.facts.perf_values()

    def conventions(self) -> dict[str, str]:
        out = self.facts.notes()
        vocab = self.backend.info.details.get("vocab_size")
        if vocab is not None:  # the report flags perplexities above it
            out["vocab_size"] = str(vocab)
        return out


def load_variant(variant: Variant, base_dir: Path) -> LoadedVariant:
    factory = BACKENDS.get(variant.model.backend)
    backend = factory(variant.model, variant.knob_dict, base_dir)
    # Facts fixed at load (e.g. the llama.cpp file's real bytes), then the transforms' own.
    at_load = getattr(backend, "load_details", None)
    facts = at_load if isinstance(at_load, TransformFacts) else TransformFacts()
    transforms = [(KNOBS.get(name), value) for name, value in variant.knobs]
    for knob, value in sorted(transforms, key=lambda kv: kv[0].order):
        if knob.stage == "transform" and knob.apply is not None:
            facts = facts.then(knob.apply(backend, value).facts)
    refresh = getattr(backend, "refresh_info", None)  # backends whose size a transform changes
    if facts and callable(refresh):
        refresh()
    return LoadedVariant(backend, facts, model_identity(variant.model, backend.info.source))
