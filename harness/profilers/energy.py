"""Energy from hardware counters: NVML's total-energy counter on NVIDIA GPUs and RAPL
(`/sys/class/powercap/intel-rapl:*`) on CPUs where readable.

Idle power is measured once per process before the first window and subtracted; the record
keeps gross energy, idle power and net energy. When neither counter can be read the profiler
reports why, never a zero.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from harness.backends.base import Backend
from harness.perf_specs import PerfName
from harness.profilers.base import PROFILERS, Profiler, Work
from harness.values import Value

RAPL_ROOT = Path("/sys/class/powercap")
IDLE_WINDOW_S = 1.0
MIN_WINDOW_S = 1.0  # counters update every ~10-100 ms; shorter windows are noted as imprecise
_idle_watts: dict[str, float] = {}


def rapl_files() -> list[tuple[Path, int]]:
    """(energy_uj file, wrap-around range) for each readable top-level RAPL package."""
    found = []
    for zone in sorted(RAPL_ROOT.glob("intel-rapl:[0-9]*")):
        if zone.name.count(":") != 1:
            continue  # sub-zones (core, uncore, dram) are inside their package
        energy, limit = zone / "energy_uj", zone / "max_energy_range_uj"
        try:
            int(energy.read_text())
            found.append((energy, int(limit.read_text())))
        except (OSError, ValueError):
            continue
    return found


def read_rapl_j(files: list[tuple[Path, int]]) -> list[float]:
    return [int(path.read_text()) / 1e6 for path, _ in files]


def nvml_reader(backend: Backend | None = None) -> Callable[[], list[float]] | str:
    """A function reading the energy counters of the GPU(s) holding the backend's model, in
    joules, or why there is none. Only the model's devices are summed: other GPUs on the
    machine run other work."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return "no CUDA device in use"
    from harness.hardware.nvml_devices import model_cuda_indices, nvml_handle

    indices = model_cuda_indices(backend, torch)
    if not indices:
        return "the model is not on a CUDA device"
    try:
        import pynvml

        pynvml.nvmlInit()
        handles = [nvml_handle(pynvml, torch, i)[0] for i in indices]
        for handle in handles:
            pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except Exception as err:  # NVML raises its own error types, or is missing
        return f"NVML energy counter not readable: {err}"

    def read() -> list[float]:
        return [pynvml.nvmlDeviceGetTotalEnergyConsumption(h) / 1e3 for h in handles]

    read.devices = indices  # type: ignore[attr-defined]
    return read


class EnergyProfiler:
    def __init__(self, backend: Backend | None = None) -> None:
        nvml = nvml_reader(backend)
        self.rapl = rapl_files()
        self.source = ""
        self.read: Callable[[], list[float]] | None = None
        self.wraps: list[float] = []
        if callable(nvml):
            devices = ",".join(str(i) for i in getattr(nvml, "devices", []))
            self.source, self.read = f"nvml (cuda:{devices})", nvml
        elif self.rapl:
            self.source, self.read = "rapl", lambda: read_rapl_j(self.rapl)
            self.wraps = [limit / 1e6 for _, limit in self.rapl]
        self.reason = (
            f"{nvml}; and no readable RAPL counter under {RAPL_ROOT}" if self.read is None else None
        )
        self.start_j: list[float] = []
        self.started = 0.0

    def available(self) -> str | None:
        if self.reason is None:
            self._idle_watts()  # measured once per process, before any window opens
        return self.reason

    def _delta(self, before: list[float], after: list[float]) -> float:
        total = 0.0
        for i, (a, b) in enumerate(zip(before, after, strict=True)):
            total += b - a if b >= a or not self.wraps else b + self.wraps[i] - a
        return total

    def _idle_watts(self) -> float:
        assert self.read is not None
        if self.source not in _idle_watts:
            before = self.read()
            time.sleep(IDLE_WINDOW_S)
            _idle_watts[self.source] = self._delta(before, self.read()) / IDLE_WINDOW_S
        return _idle_watts[self.source]

    def start(self) -> None:
        assert self.read is not None
        self.start_j = self.read()
        self.started = time.perf_counter()

    def stop(self, work: Work) -> Mapping[str, Value]:
        if work.backend is not None:
            work.backend.synchronize()
        assert self.read is not None
        wall = time.perf_counter() - self.started
        gross = self._delta(self.start_j, self.read())
        idle = self._idle_watts()
        net = max(gross - idle * wall, 0.0)
        note = f"{self.source} counter" + (
            "; window under 1 s, imprecise" if wall < MIN_WINDOW_S else ""
        )
        tokens = work.input_tokens + work.output_tokens
        out: dict[str, Value] = {
            PerfName.ENERGY: Value(value=gross, unit="J", higher_is_better=False, note=note),
            PerfName.IDLE_POWER: Value(
                value=idle,
                unit="W",
                higher_is_better=False,
                note=f"measured over {IDLE_WINDOW_S} s before the first window",
            ),
            PerfName.ENERGY_NET: Value(
                value=net, unit="J", higher_is_better=False, note="energy minus idle power x window"
            ),
        }
        if tokens:
            out[PerfName.JOULES_PER_TOKEN] = Value(
                value=net / tokens,
                unit="J/tok",
                higher_is_better=False,
                note="net J / (input + output tokens)",
            )
        return out


@PROFILERS.register("energy")
def make_energy(backend: Backend | None = None) -> Profiler:
    return EnergyProfiler(backend)
