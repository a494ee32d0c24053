"""How close a run came to the hardware limit.

Prefill (scoring and prompt processing) is compute-bound: model FLOP utilization (MFU) is
achieved FLOP/s over the measured matmul peak. Decode is memory-bound: every step reads all
weights once for the whole batch, so model bandwidth utilization (MBU) is weight bytes per
time-per-output-token over the measured copy bandwidth.

FLOPs = tokens run x (2 x weights of every Linear but the output head + 4 x layers x context
x hidden for attention scores and values, context = mean input length / 2) + positions the
output head ran on x 2 x head weights. Shared contexts count once; scoring runs the head only
on the scored positions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from harness.profilers.base import PROFILERS, Profiler, Work
from harness.profilers.timing import time_per_output_token
from harness.records import Value


def linear_weights(model: Any) -> int:
    import torch

    total = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            total += module.weight.numel()
        elif hasattr(module, "_packed_params") and callable(getattr(module, "weight", None)):
            total += module.weight().numel()  # torch dynamic int8 Linear
    return total


def head_weights(model: Any) -> int:
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return int(head.weight.numel()) if head is not None else 0


def flops_per_token(model: Any, mean_context: float, with_head: bool = True) -> float:
    """Forward FLOPs for one token; `with_head=False` leaves out the output head, which
    scoring runs only on the positions it needs."""
    config = getattr(model, "config", None)
    layers = int(getattr(config, "num_hidden_layers", 0) or 0)
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    weights = linear_weights(model) - (0 if with_head else head_weights(model))
    return 2.0 * weights + 4.0 * layers * mean_context * hidden


class RooflineProfiler:
    """Needs the backend to look up (or measure) the peaks before any window opens."""

    def __init__(self, backend: Any = None) -> None:
        self.started = 0.0
        self.peak: dict[str, float] | None = None
        if backend is not None and getattr(backend, "model", None) is not None:
            from harness.profilers.peaks import peaks

            # Measured here, outside every window: measuring takes seconds and memory.
            self.peak = peaks(backend.info.device, backend.info.dtype)

    def available(self) -> str | None:
        return None if self.peak is not None else "backend exposes no torch model to count FLOPs"

    def start(self) -> None:
        self.started = time.perf_counter()

    def stop(self, work: Work) -> Mapping[str, Value]:
        backend = work.backend
        if backend is not None:
            backend.synchronize()
        wall = time.perf_counter() - self.started
        model = getattr(backend, "model", None)
        peak = self.peak
        if model is None or peak is None or not work.n_requests:
            return {}
        out = {
            "peak_flops": Value(
                value=peak["peak_flops"],
                unit="FLOP/s",
                note=f"measured {backend.info.dtype} matmul",
            ),
            "peak_bandwidth": Value(
                value=peak["peak_bandwidth"], unit="B/s", note="measured tensor copy (read + write)"
            ),
        }
        mean_input = work.input_tokens / work.n_requests
        if not work.output_tokens:
            body = work.computed_tokens * flops_per_token(model, mean_input / 2, with_head=False)
            head = work.logit_tokens * 2.0 * head_weights(model)
            achieved = (body + head) / wall
            out["achieved_flops"] = Value(value=achieved, unit="FLOP/s", higher_is_better=True)
            mfu = achieved / peak["peak_flops"]
            note = "prefill model FLOP utilization"
            if mfu > 1:  # nothing beats the peak: the probe under-measured this dtype
                note += "; above 1, so the measured peak for this dtype is too low"
            out["mfu"] = Value(value=mfu, unit="fraction", higher_is_better=True, note=note)
        tpot = time_per_output_token(work)
        if tpot:
            bandwidth = backend.info.weight_bytes / tpot["time_per_output_token"].value
            out["achieved_bandwidth"] = Value(value=bandwidth, unit="B/s", higher_is_better=True)
            out["mbu"] = Value(
                value=bandwidth / peak["peak_bandwidth"],
                unit="fraction",
                higher_is_better=True,
                note="decode model bandwidth utilization: weight bytes per step",
            )
        return out


@PROFILERS.register("roofline")
def make_roofline(backend: Any = None) -> Profiler:
    return RooflineProfiler(backend)
