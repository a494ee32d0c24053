"""The model-transform knobs: quantization, pruning, layer truncation."""

from __future__ import annotations

from harness.values import Scalar
from harness.variants.base import BITS_PER_WEIGHT, N_PARAMS, SHARED, SPARSITY, knob
from harness.variants.llamacpp_levels import LLAMACPP_LEVELS, llamacpp_level_check
from harness.variants.prune import drop_middle, magnitude_prune, truncate
from harness.variants.quantize import ALL_TYPES, apply_quant, hf_quant_check


def _count(value: Scalar) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "expected a non-negative integer"


# `order` fixes the sequence: structure first, then sparsity, then quantization of what is left.
@knob(
    "layers",
    "keep the first k decoder layers",
    "transform",
    apply=truncate,
    order=1,
    unit="layers",
    axis=N_PARAMS,
)
def _layers(value: Scalar) -> str | None:
    return _count(value)


@knob(
    "drop_middle",
    "remove n decoder layers from the middle",
    "transform",
    apply=drop_middle,
    order=2,
    unit="layers",
    axis=N_PARAMS,
)
def _drop_middle(value: Scalar) -> str | None:
    return _count(value)


@knob(
    "sparsity",
    "unstructured magnitude pruning of Linear weights",
    "transform",
    apply=magnitude_prune,
    order=3,
    unit="fraction",
    axis=SPARSITY,
)
def _fraction(value: Scalar) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1
    return None if ok else "expected a fraction in [0, 1)"


@knob(
    "quant",
    "weight quantization: GGUF round-trip, torch int8, bitsandbytes; llama.cpp levels",
    "transform",
    apply=lambda backend, value: apply_quant(backend, str(value)),
    order=4,
    axis=BITS_PER_WEIGHT,
    backends=SHARED | {"llamacpp"},
    # each engine has its own levels: this general check, narrowed per backend
    backend_checks={"hf": hf_quant_check, "llamacpp": llamacpp_level_check},
)
def _quant_check(value: Scalar) -> str | None:
    """Any level of either engine; each backend narrows it to the ones it has."""
    if value in ALL_TYPES or value in LLAMACPP_LEVELS:
        return None
    return (
        f"expected one of {', '.join(ALL_TYPES)} (hf backend) or "
        f"{', '.join(LLAMACPP_LEVELS)} (llamacpp backend)"
    )
