"""Load one variant: backend from its factory, then the transform knobs in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.backends import BACKENDS, Backend
from harness.core.perf_names import PerfName
from harness.core.values import Value
from harness.run.identity import model_identity
from harness.store.runfiles import ModelIdentity
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
        effective = self.facts.measure(PerfName.N_PARAMS_EFFECTIVE)
        return int(effective if effective is not None else self.backend.info.n_params)

    def perf_values(self) -> dict[str, Value]:
        return self.facts.perf_values()

    def conventions(self) -> dict[str, str]:
        out = self.facts.notes()
        vocab = self.backend.info.details.get("vocab_size")
        if vocab is not None:  # the report flags perplexities above it
            out["vocab_size"] = str(vocab)
        decode = self.backend.info.details.get("decode")
        if decode is not None:  # the KV cache and decode-step compilation generation used
            out["decode"] = str(decode)
        return out


def load_variant(variant: Variant, base_dir: Path) -> LoadedVariant:
    engine = BACKENDS.get(variant.model.backend)
    backend = engine.open(variant.model, variant.knob_dict, base_dir)
    # Facts fixed at load (e.g. the llama.cpp file's real bytes), then the transforms' own,
    # applied by the engine (its options declared them: others were refused at plan time).
    facts = backend.load_details
    transforms = [(KNOBS.get(name), name, value) for name, value in variant.knobs]
    for knob, name, value in sorted(transforms, key=lambda t: t[0].order):
        if knob.stage == "transform":
            facts = facts.then(backend.apply_transform(name, value).facts)
    if facts:
        backend.refresh_info()  # e.g. the bytes the weights occupy after a transform
    return LoadedVariant(backend, facts, model_identity(variant.model, backend.info.source))
