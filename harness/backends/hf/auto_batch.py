"""`batch_size: auto`: the batch the transformers engine runs, found by a probe at load,
before any window, and recorded (perf `batch_size_chosen`, `conventions.batch_size_auto`).

On CUDA, the largest batch whose forward fits the memory budget (the device's free memory
less a margin): doubling rows of the probe width until a forward raises out-of-memory or
passes the budget, then the last that fitted (the back-off lm-evaluation-harness and
accelerate use). On a CPU memory does not fail loudly (the kernel's OOM killer does), so the
probe picks by speed within a memory budget: the smallest batch within 5% of the best
tokens per second, not growing the process by more than a quarter of the available memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

MAX_ROWS = 256
PROBE_WIDTH = 256  # tokens per row (capped by the model's context)
CUDA_MARGIN = 0.9  # of the free memory
CPU_SHARE = 0.25  # of the available memory the probe's growth may take
WITHIN = 0.05  # the smallest batch this close to the best speed wins on a CPU


@dataclass(frozen=True)
class AutoBatch:
    batch_size: int
    batch_tokens: int
    how: str


@torch.inference_mode()
def _forward(model: Any, rows: int, width: int, device: torch.device) -> None:
    ids = torch.randint(3, 100, (rows, width), device=device)
    model(input_ids=ids, use_cache=False, logits_to_keep=1)


def _cuda_probe(model: Any, width: int, device: torch.device) -> AutoBatch:
    free, _ = torch.cuda.mem_get_info(device)
    budget = free * CUDA_MARGIN + torch.cuda.memory_allocated(device)
    fitted, rows = 0, 1
    while rows <= MAX_ROWS:
        torch.cuda.reset_peak_memory_stats(device)
        try:
            _forward(model, rows, width, device)
            torch.cuda.synchronize(device)
        except torch.cuda.OutOfMemoryError:
            break
        finally:
            torch.cuda.empty_cache()
        if torch.cuda.max_memory_allocated(device) > budget:
            break
        fitted, rows = rows, rows * 2
    chosen = max(fitted, 1)
    return AutoBatch(
        chosen,
        chosen * width,
        f"largest of 1, 2, 4, ... rows x {width} tokens whose forward fits {CUDA_MARGIN:.0%} "
        f"of the free CUDA memory ({budget / 2**30:.1f} GiB); out-of-memory backs off",
    )


def _cpu_probe(model: Any, width: int, device: torch.device) -> AutoBatch:
    import psutil

    process = psutil.Process()
    start_rss = process.memory_info().rss
    budget = psutil.virtual_memory().available * CPU_SHARE
    speeds: dict[int, float] = {}
    rows = 1
    while rows <= MAX_ROWS:
        started = time.perf_counter()
        _forward(model, rows, width, device)
        speeds[rows] = rows * width / (time.perf_counter() - started)
        grown = process.memory_info().rss - start_rss
        if grown > budget or (len(speeds) >= 3 and speeds[rows] < max(speeds.values()) * 0.9):
            break  # past the memory budget, or past the fastest by 10%: larger only slows
        rows *= 2
    best = max(speeds.values())
    chosen = min(r for r, s in speeds.items() if s >= best * (1 - WITHIN))
    return AutoBatch(
        chosen,
        chosen * width,
        f"smallest of 1, 2, 4, ... rows x {width} tokens within {WITHIN:.0%} of the best "
        f"probe speed ({best:,.0f} tok/s at {max(speeds, key=speeds.__getitem__)} rows), "
        f"growing the process by at most {CPU_SHARE:.0%} of the available memory",
    )


def probe(model: Any, device: torch.device, context: int) -> AutoBatch:
    width = min(PROBE_WIDTH, context)
    _forward(model, 1, width, device)  # warm the kernels so the first size is not charged
    if device.type == "cuda":
        return _cuda_probe(model, width, device)
    return _cpu_probe(model, width, device)
