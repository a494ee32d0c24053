"""Perf specs of records written before schema_version 3, which stored none.

The one place perf values are described by reading text: a v1/v2 record's specs come from
the catalogue by name, its kernels from the conventions its transforms wrote (three
spellings over time) and its latency scope from the percentiles' notes. A schema-3 record
comes here only for a value stored without a spec (a third-party writer), or for its kernels
when it measured nothing (its `quant_kernels` convention).
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.core.perf_names import PerfName
from harness.core.perf_specs import KERNELS_NOTE, Kernels, PerfSpec, Scope, SpecContext
from harness.core.perf_specs import perf_specs as specs_in
from harness.core.values import Value

PER_BATCH_NOTE = "per batch"  # how v2's percentiles began their note when batch-timed


def v2_kernels(conventions: Mapping[str, str]) -> Kernels:
    """Simulated when the transform said so: `quant_kernels: simulated` (v0.2), `kernels:
    same as ...` (fake quantization) or a `quant_note` of a GGUF round-trip (v0.1)."""
    if (
        conventions.get(KERNELS_NOTE) == Kernels.SIMULATED
        or conventions.get("kernels", "").startswith("same as")
        or conventions.get("quant_note", "").startswith(("GGUF round-trip", "simulated"))
    ):
        return Kernels.SIMULATED
    return Kernels.REAL


def v2_engine(conventions: Mapping[str, str]) -> str | None:
    """Records before model identities named only llama.cpp, in a free-text convention."""
    return "llamacpp" if conventions.get("engine", "").startswith("llama.cpp") else None


def v2_latency_scope(perf: Mapping[str, Value]) -> Scope:
    timed = [v for name, v in perf.items() if name.endswith("_p50") and v.note]
    batched = any((v.note or "").startswith(PER_BATCH_NOTE) for v in timed)
    return Scope.PER_BATCH if batched else Scope.PER_REQUEST


def v2_perf_specs(perf: Mapping[str, Value], conventions: Mapping[str, str]) -> dict[str, PerfSpec]:
    context = SpecContext(
        latency_scope=v2_latency_scope(perf),
        kernels=v2_kernels(conventions),
        generated=PerfName.OUTPUT_TOKENS_PER_S in perf,
    )
    return specs_in(perf, context)
