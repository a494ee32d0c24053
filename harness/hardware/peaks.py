"""Measured hardware peaks: dense matmul FLOP/s and memory copy bandwidth, cached per
hardware fingerprint, device, dtype and thread count (measuring takes a few seconds)."""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any

from harness.core.paths import cache_dir
from harness.core.perf_names import PerfName
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


def measure_peaks(device: str, dtype: str) -> dict[str, float]:
    import torch

    dt = getattr(torch, dtype)
    on_gpu = device.startswith("cuda")

    def sync() -> None:
        if on_gpu:
            torch.cuda.synchronize()

    flops = 0.0
    for n in (4096, 8192) if on_gpu else (1024, 2048):  # the peak is the best size's rate
        a = torch.randn(n, n, device=device).to(dt)
        b = torch.randn(n, n, device=device).to(dt)
        # F.linear is the kernel a model's Linear layers run, whatever the dtype's backend.
        linear = partial(torch.nn.functional.linear, a, b)
        flops = max(flops, _best_rate(linear, 2.0 * n**3, sync))
        if 2.0 * (2 * n) ** 3 / flops > MIN_TIME_S:
            break  # a slow dtype here (bf16 without CPU support): a bigger size costs minutes
    size = (1 << 30) if on_gpu else (1 << 28)
    src = torch.empty(size // 4, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    bandwidth = _best_rate(lambda: dst.copy_(src), 2.0 * size, sync)  # read + write
    return {PerfName.PEAK_FLOPS: flops, PerfName.PEAK_BANDWIDTH: bandwidth}


def _key(device: str, dtype: str) -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"
    return f"{cpu_model()}|{gpu}|{device}|{dtype}|threads={torch.get_num_threads()}"


def peaks(device: str, dtype: str) -> dict[str, float]:
    path = cache_dir() / "peaks.json"
    known: dict[str, dict[str, float]] = {}
    if path.exists():
        known = json.loads(path.read_text())
    key = _key(device, dtype)
    if key not in known:
        known[key] = measure_peaks(device, dtype)
        path.write_text(json.dumps(known, indent=2))
    return known[key]
