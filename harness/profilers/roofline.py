"""How close a run came to the hardware limit.

Prefill (scoring and prompt processing) is compute-bound: model FLOP utilization (MFU) is
achieved FLOP/s over the measured matmul peak. Decode is memory-bound: every step reads all
weights once for the whole batch, so model bandwidth utilization (MBU) is weight bytes per
time-per-output-token over the measured copy bandwidth.

FLOPs = tokens run x 2 x weights of every Linear but the output head
      + attention: 4 x (heads x head_dim) x sum over layers and requests of the causal
        query-key pairs, sum_{i=1..n} min(i, window) (about n^2 / 2 per request of n tokens,
        capped by a layer's sliding window and the backend's context length; an encoder's
        bidirectional attention: n^2)
      + positions the output head ran on x 2 x head weights.
Shared contexts count once: the attention term is scaled by computed / input tokens. Scoring
runs the head only on the scored positions.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from harness.backends.base import Backend
from harness.perf_specs import PerfName
from harness.profilers.base import PROFILERS, Profiler, Work
from harness.profilers.timing import time_per_output_token
from harness.values import Value


def linear_weights(model: Any) -> int:
    import torch

    from harness.backends.hf.params import logical_numel

    total = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            total += logical_numel(module.weight)
        elif hasattr(module, "_packed_params") and callable(getattr(module, "weight", None)):
            total += module.weight().numel()  # torch dynamic int8 Linear
    return total


def head_weights(model: Any) -> int:
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    from harness.backends.hf.params import logical_numel

    return logical_numel(head.weight) if head is not None else 0


def attention_width(config: Any) -> int:
    """heads x head_dim: the width of Q.K^T and A.V, which is not hidden_size for models
    with an explicit head_dim (Gemma-3-270M: 4 x 256 = 1024 against a hidden size of 640)."""
    heads = int(getattr(config, "num_attention_heads", 0) or 0)
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    head_dim = int(getattr(config, "head_dim", 0) or (hidden // heads if heads else 0))
    return heads * head_dim


def layer_windows(config: Any, context: int) -> list[int]:
    """Keys each layer's queries may see at most: the sliding window on sliding layers."""
    layers = int(getattr(config, "num_hidden_layers", 0) or 0)
    window = int(getattr(config, "sliding_window", 0) or 0)
    types = getattr(config, "layer_types", None)
    out = []
    for index in range(layers):
        sliding = window > 0 and (
            types[index] == "sliding_attention"
            if types
            else getattr(config, "use_sliding_window", True)
        )
        out.append(min(window, context) if sliding else context)
    return out


def causal_pairs(n: int, window: int) -> int:
    """Query-key pairs of causal attention over n tokens when each query sees <= window keys."""
    w = min(n, window)
    return w * (w + 1) // 2 + (n - w) * w


def attention_flops(model: Any, lengths: Sequence[int], context: int, causal: bool = True) -> float:
    """4 x (heads x head_dim) x pairs: 2 FLOPs per multiply-add, for scores and for values.
    An encoder's tokens attend both ways: n x n pairs per request, not n (n + 1) / 2."""
    config = getattr(model, "config", None)
    windows = layer_windows(config, context)
    if causal:
        pairs = sum(causal_pairs(n, w) for w in windows for n in lengths)
    else:
        pairs = sum(n * min(n, w) for w in windows for n in lengths)
    return 4.0 * attention_width(config) * pairs


def body_flops_per_token(model: Any) -> float:
    """Linear FLOPs for one token without the output head, which scoring runs only on the
    positions it needs."""
    return 2.0 * (linear_weights(model) - head_weights(model))


class RooflineProfiler:
    """Needs the backend to look up (or measure) the peaks before any window opens."""

    def __init__(self, backend: Backend | None = None) -> None:
        self.started = 0.0
        self.peak: dict[str, float] | None = None
        if backend is not None and backend.torch_model is not None:
            from harness.hardware.peaks import peaks

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
        model = backend.torch_model if backend is not None else None
        peak = self.peak
        if backend is None or model is None or peak is None or not work.n_requests:
            return {}
        out: dict[str, Value] = {
            PerfName.PEAK_FLOPS: Value(
                value=peak[PerfName.PEAK_FLOPS],
                unit="FLOP/s",
                note=f"measured {backend.info.dtype} matmul",
            ),
            PerfName.PEAK_BANDWIDTH: Value(
                value=peak[PerfName.PEAK_BANDWIDTH],
                unit="B/s",
                note="measured tensor copy (read + write)",
            ),
        }
        if not work.output_tokens:
            shared = work.computed_tokens / work.input_tokens if work.input_tokens else 1.0
            context = int(backend.info.max_length)
            causal = backend.causal_attention
            attention = attention_flops(model, work.input_lengths, context, causal) * shared
            body = work.computed_tokens * body_flops_per_token(model) + attention
            head = work.logit_tokens * 2.0 * head_weights(model)
            achieved = (body + head) / wall
            out[PerfName.ACHIEVED_FLOPS] = Value(
                value=achieved, unit="FLOP/s", higher_is_better=True
            )
            mfu = achieved / peak[PerfName.PEAK_FLOPS]
            note = "prefill model FLOP utilization"
            if mfu > 1:  # nothing beats the peak: the probe under-measured this dtype
                note += "; above 1, so the measured peak for this dtype is too low"
            out[PerfName.MFU] = Value(value=mfu, unit="fraction", higher_is_better=True, note=note)
        tpot = time_per_output_token(work)
        if tpot:
            bandwidth = backend.info.weight_bytes / tpot["time_per_output_token"].value
            out[PerfName.ACHIEVED_BANDWIDTH] = Value(
                value=bandwidth, unit="B/s", higher_is_better=True
            )
            out[PerfName.MBU] = Value(
                value=bandwidth / peak[PerfName.PEAK_BANDWIDTH],
                unit="fraction",
                higher_is_better=True,
                note="decode model bandwidth utilization: weight bytes per step",
            )
        return out


@PROFILERS.register("roofline")
def make_roofline(backend: Backend | None = None) -> Profiler:
    return RooflineProfiler(backend)
