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
on this machine, each precision with its own kernel (harness.hardware.peaks), and a model is
held against the peak of the precision its matmuls ran in (`compute_precision`): float
weights their dtype's, int8 kernels (torch's dynamic int8 Linear, bitsandbytes int8,
llama.cpp's quantized types, which multiply 8-bit integers) the int8 peak. Attention and the
output head of an int8 model run in floats but are held against the int8 peak too, so its
MFU errs low, never above 1. A value above 1 says the peak was under-measured or the work
over-counted, and its note says so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.backends.base import Backend
from harness.core.perf_names import PerfName, Precision, peak_flops_name
from harness.core.requests import GenerateResponse
from harness.core.values import Value
from harness.hardware.shapes import ModelShape, attention_flops
from harness.profilers.base import PROFILERS, Profiler, Work
from harness.profilers.timing import time_per_output_token

ABOVE_PEAK = "above the measured peak: peak under-measured or work over-counted"
# llama.cpp's quantized weight types (Q4_K, Q8_0, IQ2_XS, TQ1_0, ...): ggml quantizes the
# activations to 8 bits and multiplies integers; its F32/F16 files run float math.
_INTEGER_GGUF = ("Q", "IQ", "TQ")


def precision_of_dtype(dtype: str) -> Precision:
    """The precision an engine's reported dtype computes in: a torch float dtype is its own;
    a quantized GGUF type multiplies 8-bit integers; anything else is held against float32."""
    if dtype in tuple(Precision):
        return Precision(dtype)
    weight_type = dtype.removeprefix("gguf ").upper()
    if dtype.startswith("gguf ") and weight_type.startswith(_INTEGER_GGUF):
        return Precision.INT8
    return Precision.FLOAT32


def module_precision(model: Any) -> Precision | None:
    """The precision of a torch model's quantized Linear layers, where a transform replaced
    them (their weights are no parameters, so the dtype the engine reports is the float
    one it loaded); None when every Linear is a float one."""
    import torch.ao.nn.quantized.dynamic as dynamic

    for module in model.modules():
        name = type(module).__name__
        if isinstance(module, dynamic.Linear) or name == "Linear8bitLt":
            return Precision.INT8
        compute = getattr(module, "compute_dtype", None)  # bitsandbytes 4-bit: dequantized
        if name == "Linear4bit" and compute is not None:
            return precision_of_dtype(str(compute).removeprefix("torch."))
    return None


def compute_precision(backend: Backend) -> Precision:
    """The precision whose peak the backend's work is held against."""
    model = backend.torch_model
    found = module_precision(model) if model is not None else None
    return found if found is not None else precision_of_dtype(backend.info.dtype)


def utilization_note(what: str, value: float) -> str:
    """A utilisation's note, flagged when it passes 1 (nothing runs above a true peak)."""
    return what if value <= 1 else f"{what}; {ABOVE_PEAK}"


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
        self.precision = Precision.FLOAT32
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
            self.precision = compute_precision(backend)
            self.peak = peaks(device, self.precision)

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
        out: dict[str, Value] = {
            peak_flops_name(self.precision): Value(
                value=peak[PerfName.PEAK_FLOPS],
                unit="FLOP/s",
                note=f"measured {self.precision} matmul (torch); shapes from {shape.source}",
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
            what = f"prefill model FLOP utilization, against the {self.precision} peak"
            out[PerfName.MFU] = Value(
                value=mfu, unit="fraction", higher_is_better=True, note=utilization_note(what, mfu)
            )
        bandwidth = decode_bandwidth(shape, backend.info.weight_bytes, work)
        if bandwidth is not None and time_per_output_token(work):
            out[PerfName.ACHIEVED_BANDWIDTH] = Value(
                value=bandwidth, unit="B/s", higher_is_better=True
            )
            mbu = bandwidth / peak[PerfName.PEAK_BANDWIDTH]
            what = "decode model bandwidth utilization: weight and KV-cache bytes per step"
            out[PerfName.MBU] = Value(
                value=mbu, unit="fraction", higher_is_better=True, note=utilization_note(what, mbu)
            )
        return out


@PROFILERS.register("roofline")
def make_roofline(backend: Backend | None = None) -> Profiler:
    return RooflineProfiler(backend)
