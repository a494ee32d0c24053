"""Parameter counts that see through packed storage.

bitsandbytes stores a 4-bit weight (Params4bit) as a flat uint8 tensor holding two weights
per byte, so `weight.numel()` is half the parameter count; the original shape lives in the
tensor's `quant_state.shape`. Counting numel() halved n_params, FLOPs, MFU and the quantized
weight bytes of `bnb_nf4` variants.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def logical_numel(tensor: Any) -> int:
    """How many weights a (possibly packed) parameter holds."""
    state = getattr(tensor, "quant_state", None)
    shape = getattr(state, "shape", None)
    if shape is not None:
        return int(math.prod(int(d) for d in shape))
    return int(tensor.numel())


def count_params(params: Iterable[Any]) -> int:
    return sum(logical_numel(p) for p in params)


def linear_weights(model: Any) -> int:
    """Weights of every Linear layer (the output head included), by their logical shape."""
    import torch

    total = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            total += logical_numel(module.weight)
        elif hasattr(module, "_packed_params") and callable(getattr(module, "weight", None)):
            total += module.weight().numel()  # torch dynamic int8 Linear
    return total


def head_weights(model: Any) -> int:
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return logical_numel(head.weight) if head is not None else 0


def weight_bytes(model: Any) -> int:
    """Bytes of the parameters, plus torch's packed int8 weights, which are not parameters."""
    total = sum(t.numel() * t.element_size() for t in model.parameters())
    for module in model.modules():
        packed = getattr(module, "_packed_params", None)
        if packed is not None and hasattr(module, "weight") and callable(module.weight):
            total += module.weight().numel()  # one byte per int8 weight
    return int(total)
