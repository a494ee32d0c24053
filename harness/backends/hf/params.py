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
