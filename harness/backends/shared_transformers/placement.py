"""Where a transformers model runs and in which dtype, when the suite leaves them to us.

GPU first: with no `device` the model goes to the accelerator torch sees (cuda, else mps),
else the CPU. `dtype: auto` (the default) takes the checkpoint's own dtype on an accelerator,
as lm-evaluation-harness's `dtype=auto` and vLLM do, so a bf16 checkpoint runs in bf16 on a
GPU instead of being upcast; on a CPU it stays float32, where bf16 matmuls are slow on most
CPUs and the numbers of every CPU run so far were taken.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.variants.base import DTYPE_BITS

CPU_DTYPE = "float32"


@dataclass(frozen=True)
class Placement:
    device: str  # a torch device name: cpu, cuda, cuda:1, mps
    dtype: str  # a key of DTYPE_BITS


def accelerator() -> str:
    """The device torch would compute fastest on here: cuda, else mps, else cpu."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def stored_dtype(config: Any) -> str | None:
    """The float dtype a transformers config says its weights are stored in; None when it
    names none or one no engine here runs (transformers 5 calls it `dtype`, 4.x
    `torch_dtype`)."""
    named = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    name = str(named).removeprefix("torch.") if named is not None else None
    return name if name in DTYPE_BITS else None


def resolve_placement(
    device: str | None,
    dtype: str,
    read_stored: Callable[[], str | None],
    bitsandbytes: bool = False,
    cpu_only: bool = False,
) -> Placement:
    """The device and dtype to load with. `read_stored()` returns the checkpoint's dtype
    (see stored_dtype); it is called only when `auto` needs it on an accelerator, so a CPU
    run reads nothing more than before. bitsandbytes levels run on CUDA only; a transform
    with CPU kernels only (`cpu_only`) defaults to the CPU even where a GPU is present."""
    default = "cuda" if bitsandbytes else "cpu" if cpu_only else accelerator()
    where = device or default
    if dtype != "auto":
        return Placement(where, dtype)
    if where.split(":")[0] == "cpu":
        return Placement(where, CPU_DTYPE)
    # A config that names no dtype was saved in float32 (transformers' own default).
    return Placement(where, read_stored() or CPU_DTYPE)
