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

Bytes per decode step = weight bytes + the KV cache the step's rows read: rows x their mean
context (prompt + half the output) x 2 x layers x kv_heads x head_dim x bytes per element.
The shapes come from the model's own description (harness.hardware.shapes), not from a torch
module, so llama.cpp and served models get a roofline too; the peaks are measured with torch
on this machine (an engine without a torch dtype is held against the float32 peak).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from harness.backends.base import Backend
from harness.core.perf_names import PerfName
from harness.core.requests import GenerateResponse
from harness.core.values import Value
from harness.hardware.shapes import DTYPE_BYTES, ModelShape, attention_flops
from harness.profilers.base import PROFILERS, Profiler, Work
from harness.profilers.timing import time_per_output_token


def peak_dtype(dtype: str) -> str:
    """The torch dtype whose measured peak an engine is held against."""
    return dtype if dtype in DTYPE_BYTES else "float32"


def prefill_flops(shape: ModelShape, work: Work, context: int, causal: bool) -> float:
    shared = work.computed_tokens / work.input_tokens if work.input_tokens else 1.0
    attention = attention_flops(shape, work.input_lengths, context, causal) * shared
    body = work.computed_tokens * 2.0 * shape.body_params + attention
    return body + work.logit_tokens * 2.0 * shape.head_params


def decode_bandwidth(shape: ModelShape, weight_bytes: float, work: Work) -> float | None:
    """Median over decode batches of bytes read per step / time per step. Rows of one batch
    share their timings (lock-step), so a batch is the requests with equal (TTFT, latency,
    steps); a request timed alone is its own batch."""
    batches: dict[tuple[float, float, int], list[GenerateResponse]] = {}
    for r in work.responses:
        if isinstance(r, GenerateResponse) and r.ttft_s is not None and r.latency_s is not None:
            steps = r.decode_steps or r.n_out
            if steps > 1:
                batches.setdefault((r.ttft_s, r.latency_s, steps), []).append(r)
    rates = []
    for (ttft, latency, steps), rows in batches.items():
        context = sum((r.n_in or 0) + r.n_out / 2 for r in rows) / len(rows)
        read = weight_bytes + len(rows) * context * shape.kv_bytes_per_token
        rates.append(read / ((latency - ttft) / (steps - 1)))
    return float(np.median(rates)) if rates else None


class RooflineProfiler:
    """Needs the backend's shapes and the measured peaks before any window opens."""

    def __init__(self, backend: Backend | None = None) -> None:
        self.started = 0.0
        self.peak: dict[str, float] | None = None
        self.shape: ModelShape | None = None
        self.reason = "no backend"
        if backend is None:
            return
        device = backend.peak_device
        self.shape = backend.model_shape() if device is not None else None
        self.reason = (
            backend.shape_unavailable()
            if device is not None
            else f"the work runs where this process cannot measure peaks ({backend.info.device})"
        )
        if self.shape is not None and device is not None:
            from harness.hardware.peaks import peaks

            # Measured here, outside every window: measuring takes seconds and memory.
            self.peak = peaks(device, peak_dtype(backend.info.dtype))

    def available(self) -> str | None:
        return None if self.peak is not None else self.reason

    def start(self) -> None:
        self.started = time.perf_counter()

    def stop(self, work: Work) -> Mapping[str, Value]:
        backend = work.backend
        if backend is not None:
            backend.synchronize()
        wall = time.perf_counter() - self.started
        shape, peak = self.shape, self.peak
        if backend is None or shape is None or peak is None or not work.n_requests:
            return {}
        dtype = peak_dtype(backend.info.dtype)
        out: dict[str, Value] = {
            PerfName.PEAK_FLOPS: Value(
                value=peak[PerfName.PEAK_FLOPS],
                unit="FLOP/s",
                note=f"measured {dtype} matmul (torch); shapes from {shape.source}",
            ),
            PerfName.PEAK_BANDWIDTH: Value(
                value=peak[PerfName.PEAK_BANDWIDTH],
                unit="B/s",
                note="measured tensor copy (read + write)",
            ),
        }
        if not work.output_tokens:
            # A served model's context is not known here: its longest request bounds it.
            context = int(backend.info.max_length) or max(work.input_lengths, default=0)
            achieved = prefill_flops(shape, work, context, backend.causal_attention) / wall
            out[PerfName.ACHIEVED_FLOPS] = Value(
                value=achieved, unit="FLOP/s", higher_is_better=True
            )
            mfu = achieved / peak[PerfName.PEAK_FLOPS]
            note = "prefill model FLOP utilization"
            if mfu > 1:  # nothing beats the peak: the probe under-measured this dtype
                note += "; above 1, so the measured peak for this dtype is too low"
            out[PerfName.MFU] = Value(value=mfu, unit="fraction", higher_is_better=True, note=note)
        bandwidth = decode_bandwidth(shape, backend.info.weight_bytes, work)
        if bandwidth is not None and time_per_output_token(work):
            out[PerfName.ACHIEVED_BANDWIDTH] = Value(
                value=bandwidth, unit="B/s", higher_is_better=True
            )
            out[PerfName.MBU] = Value(
                value=bandwidth / peak[PerfName.PEAK_BANDWIDTH],
                unit="fraction",
                higher_is_better=True,
                note="decode model bandwidth utilization: weight and KV-cache bytes per step",
            )
        return out


@PROFILERS.register("roofline")
def make_roofline(backend: Backend | None = None) -> Profiler:
    return RooflineProfiler(backend)
