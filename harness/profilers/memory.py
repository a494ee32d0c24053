"""Peak process RSS (sampled on a thread) and, on CUDA, peak allocated and reserved bytes."""

from __future__ import annotations

import threading
from collections.abc import Mapping

import psutil

from harness.backends.base import Backend
from harness.core.perf_names import PerfName
from harness.core.values import Value
from harness.hardware.process_memory import peak_since_reset, release_freed_memory, reset_peak
from harness.profilers.base import PROFILERS, Profiler, Work

SAMPLE_INTERVAL_S = 0.1


class MemoryProfiler:
    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak_rss = 0
        self.baseline_rss = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cuda = False
        # Built before any timed window opens: memory freed by earlier variants and units
        # goes back to the OS here, not inside a measurement.
        self.trimmed = release_freed_memory()
        self.kernel_peak = False

    def available(self) -> str | None:
        return None

    def start(self) -> None:
        self.baseline_rss = self.peak_rss = self.process.memory_info().rss
        self.kernel_peak = reset_peak()
        self.lifetime_peak = _max_rss()
        self._cuda = _reset_cuda_peak()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)

    def stop(self, work: Work) -> Mapping[str, Value]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
        window_peak = peak_since_reset() if self.kernel_peak else None
        if window_peak is not None:
            self.peak_rss = max(self.peak_rss, window_peak)
        else:
            lifetime = _max_rss()
            if lifetime > self.lifetime_peak:  # the kernel's exact peak was set in the window
                self.peak_rss = max(self.peak_rss, lifetime)
        out: dict[str, Value] = {
            PerfName.PEAK_RSS: Value(
                value=self.peak_rss,
                unit="B",
                higher_is_better=False,
                note=self._how(),
            ),
            PerfName.RSS_GROWTH: Value(
                value=self.peak_rss - self.baseline_rss,
                unit="B",
                higher_is_better=False,
                note="peak minus RSS at window start",
            ),
        }
        if work.backend is not None:
            out[PerfName.WEIGHT_BYTES] = Value(
                value=work.backend.info.weight_bytes, unit="B", higher_is_better=False
            )
        if self._cuda:
            out.update(_cuda_peaks())
        return out

    def _how(self) -> str:
        freed = "freed heap returned to the OS (malloc_trim) first; " if self.trimmed else ""
        if self.kernel_peak:
            return f"{freed}the kernel's exact peak (VmHWM), reset at window start"
        return (
            f"{freed}sampled every {SAMPLE_INTERVAL_S * 1000:.0f} ms, or the kernel's "
            "lifetime peak (ru_maxrss) when the window set a new one"
        )


def _max_rss() -> int:
    """The process's lifetime peak RSS in bytes (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_cuda_peak() -> bool:
    import sys

    torch = sys.modules.get("torch")  # never import torch just to learn there is no GPU
    if torch is None or not torch.cuda.is_available():
        return False
    torch.cuda.reset_peak_memory_stats()
    return True


def _cuda_peaks() -> dict[str, Value]:
    import torch

    return {
        PerfName.CUDA_PEAK_ALLOCATED: Value(
            value=torch.cuda.max_memory_allocated(), unit="B", higher_is_better=False
        ),
        PerfName.CUDA_PEAK_RESERVED: Value(
            value=torch.cuda.max_memory_reserved(), unit="B", higher_is_better=False
        ),
    }


@PROFILERS.register("memory")
def make_memory(backend: Backend | None = None) -> Profiler:
    return MemoryProfiler()
