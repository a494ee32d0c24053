"""The model-transform knobs: quantization, pruning, layer truncation."""

from __future__ import annotations

from harness.values import Scalar
from harness.variants.base import (
    BITS_PER_WEIGHT,
    KNOBS,
    N_PARAMS,
    SHARED,
    SPARSITY,
    Knob,
)
from harness.variants.llamacpp_levels import LLAMACPP_LEVELS, llamacpp_level_check
from harness.variants.prune import drop_middle, magnitude_prune, truncate
from harness.variants.quantize import ALL_TYPES, apply_quant, hf_quant_check


def _quant_check(value: Scalar) -> str | None:
    """Any level of either engine; each backend's traits narrow it to the ones it has."""
    if value in ALL_TYPES or value in LLAMACPP_LEVELS:
        return None
    return (
        f"expected one of {', '.join(ALL_TYPES)} (hf backend) or "
        f"{', '.join(LLAMACPP_LEVELS)} (llamacpp backend)"
    )


def _fraction(value: Scalar) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1
    return None if ok else "expected a fraction in [0, 1)"


def _count(value: Scalar) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "expected a non-negative integer"


# `order` fixes the sequence: structure first, then sparsity, then quantization of what is left.
KNOBS.register("layers")(
    Knob(
        "keep the first k decoder layers",
        "transform",
        _count,
        truncate,
        order=1,
        unit="layers",
        axis=N_PARAMS,
    )
)
KNOBS.register("drop_middle")(
    Knob(
        "remove n decoder layers from the middle",
        "transform",
        _count,
        drop_middle,
        order=2,
        unit="layers",
        axis=N_PARAMS,
    )
)
KNOBS.register("sparsity")(
    Knob(
        "unstructured magnitude pruning of Linear weights",
        "transform",
        _fraction,
        magnitude_prune,
        order=3,
        unit="fraction",
        axis=SPARSITY,
    )
)
KNOBS.register("quant")(
    Knob(
        "weight quantization: GGUF round-trip, torch int8, bitsandbytes; llama.cpp levels",
        "transform",
        _quant_check,
        lambda backend, value: apply_quant(backend, str(value)),
        order=4,
        axis=BITS_PER_WEIGHT,
        backends=SHARED | {"llamacpp"},
        # each engine has its own levels: the general check above, narrowed per backend
        backend_checks={"hf": hf_quant_check, "llamacpp": llamacpp_level_check},
    )
)
