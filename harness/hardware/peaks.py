"""Measured hardware peaks: dense matmul rate per precision and memory copy bandwidth, cached
per hardware fingerprint, device, precision and thread count (measuring takes a few seconds).

Each precision's peak is measured with the kernel a model of that precision runs: float
dtypes with F.linear in that dtype; int8 with torch's dynamic int8 Linear on CPU (fbgemm's
int8 GEMM, what `quant: int8_dynamic` runs) and `torch._int_mm` on CUDA (cuBLAS int8 GEMM,
what int8 weight-and-activation kernels run). A model is held against the peak of the
precision it ran: an int8 model against the float32 peak read 1.23 "MFU".
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

from harness.core.paths import cache_dir
from harness.core.perf_names import PerfName, Precision
from harness.hardware.fingerprint import cpu_model

MIN_TIME_S = 0.5


def _best_rate(fn: Any, work: float, sync: Any) -> float:
    """Best of repeated timings (peaks are maxima) over at least MIN_TIME_S."""
    fn()
    sync()
    best = 0.0
    spent = 0.0
    while spent < MIN_TIME_S:
        start = time.perf_counter()
        fn()
        sync()
        elapsed = time.perf_counter() - start
        spent += elapsed
        best = max(best, work / elapsed)
    return best


def _float_matmul(device: str, precision: Precision, n: int) -> Callable[[], Any]:
    import torch

    dt = getattr(torch, precision.value)
    a = torch.randn(n, n, device=device).to(dt)
    b = torch.randn(n, n, device=device).to(dt)
    # F.linear is the kernel a model's Linear layers run, whatever the dtype's backend.
    return partial(torch.nn.functional.linear, a, b)


def _int8_matmul(device: str, n: int) -> Callable[[], Any]:
    import torch

    if device.startswith("cuda"):
        a = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=device)
        b = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=device)
        return partial(torch._int_mm, a, b)
    # The module `quant: int8_dynamic` turns a Linear into: activations quantized per call
    # (O(n^2), beside the O(n^3) int8 GEMM), int32 accumulation, dequantized output.
    linear = torch.nn.Sequential(torch.nn.Linear(n, n, bias=False))
    with warnings.catch_warnings():  # torch.ao is deprecated in favour of torchao; still works
        warnings.simplefilter("ignore")
        quantize_dynamic: Any = torch.ao.quantization.quantize_dynamic
        quantized = quantize_dynamic(linear, {torch.nn.Linear}, torch.qint8)
    return partial(quantized, torch.randn(n, n))


def matmul_peak(device: str, precision: Precision) -> float:
    """Best multiply-accumulate rate (2 operations each) over a few square sizes."""
    import torch

    on_gpu = device.startswith("cuda")

    def sync() -> None:
        if on_gpu:
            torch.cuda.synchronize()

    rate = 0.0
    for n in (4096, 8192) if on_gpu else (1024, 2048):  # the peak is the best size's rate
        if precision is Precision.INT8:
            matmul = _int8_matmul(device, n)
        else:
            matmul = _float_matmul(device, precision, n)
        rate = max(rate, _best_rate(matmul, 2.0 * n**3, sync))
        if 2.0 * (2 * n) ** 3 / rate > MIN_TIME_S:
            break  # a slow precision here (bf16 without CPU support): a bigger size costs minutes
    return rate


def measure_peaks(device: str, precision: Precision) -> dict[str, float]:
    import torch

    on_gpu = device.startswith("cuda")

    def sync() -> None:
        if on_gpu:
            torch.cuda.synchronize()

    flops = matmul_peak(device, precision)
    size = (1 << 30) if on_gpu else (1 << 28)
    src = torch.empty(size // 4, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    bandwidth = _best_rate(lambda: dst.copy_(src), 2.0 * size, sync)  # read + write
    return {PerfName.PEAK_FLOPS: flops, PerfName.PEAK_BANDWIDTH: bandwidth}


def _key(device: str, precision: Precision) -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"
    # float precisions keep the key they had when it read "dtype", so cached peaks stay valid
    return f"{cpu_model()}|{gpu}|{device}|{precision.value}|threads={torch.get_num_threads()}"


def peaks(device: str, precision: Precision) -> dict[str, float]:
    """The cached peaks of `precision` on `device`, measured on first use."""
    path = cache_dir() / "peaks.json"
    known: dict[str, dict[str, float]] = {}
    if path.exists():
        known = json.loads(path.read_text())
    key = _key(device, precision)
    if key not in known:
        known[key] = measure_peaks(device, precision)
        path.write_text(json.dumps(known, indent=2))
    return known[key]
