"""Energy from hardware counters: NVML's total-energy counter on NVIDIA GPUs and RAPL
(`/sys/class/powercap/intel-rapl:*`) on CPUs where readable.

Idle power is measured once per process, at rest (harness.profilers.idle: windows repeated
until the power settles, their spread kept), and subtracted; the record keeps gross energy,
idle power with its range, and net energy with the idle noise as its interval. On NVML the
card's clocks, temperature and throttle reasons at the window's start and end are kept too.
When neither counter can be read the profiler reports why, never a zero.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.backends.base import Backend
from harness.core.perf_names import PerfName
from harness.core.values import Value
from harness.profilers.base import PROFILERS, Profiler, Work
from harness.profilers.gpu_state import GPUState, read_state, state_values
from harness.profilers.idle import IdlePower, measure_idle

RAPL_ROOT = Path("/sys/class/powercap")
MIN_WINDOW_S = 1.0  # counters update every ~10-100 ms; shorter windows are noted as imprecise
_idle: dict[str, IdlePower] = {}  # per counter source, once per process


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


@dataclass(frozen=True)
class Counter:
    """An energy counter: joules per device (or package), its wrap-around ranges, and, on
    NVML, the device's own power reading and its clocks, heat and throttling."""

    source: str
    read: Callable[[], list[float]]
    wraps: tuple[float, ...] = ()
    power_w: Callable[[], float] | None = None
    state: Callable[[], GPUState | None] | None = None


def nvml_reader(backend: Backend | None = None) -> Counter | str:
    """The energy counters of the GPU(s) holding the backend's model, or why there are none.
    Only the model's devices are summed: other GPUs on the machine run other work."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return "no CUDA device in use"
    from harness.hardware.nvml_devices import model_cuda_indices, nvml_handle

    indices = model_cuda_indices(
        backend.torch_model if backend is not None else None,
        backend.info.device if backend is not None else None,
        torch,
    )
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

    def power_w() -> float:
        return float(sum(pynvml.nvmlDeviceGetPowerUsage(h) for h in handles)) / 1e3

    devices = ",".join(str(i) for i in indices)
    return Counter(f"nvml (cuda:{devices})", read, (), power_w, lambda: read_state(pynvml, handles))


def _counter(backend: Backend | None) -> Counter | str:
    nvml = nvml_reader(backend)
    if isinstance(nvml, Counter):
        return nvml
    files = rapl_files()
    if not files:
        return f"{nvml}; and no readable RAPL counter under {RAPL_ROOT}"
    return Counter("rapl", lambda: read_rapl_j(files), tuple(limit / 1e6 for _, limit in files))


class EnergyProfiler:
    def __init__(self, backend: Backend | None = None) -> None:
        found = _counter(backend)
        self.counter = found if isinstance(found, Counter) else None
        self.reason = found if isinstance(found, str) else None
        self.start_j: list[float] = []
        self.started = 0.0
        self.state_start: GPUState | None = None

    def available(self) -> str | None:
        if self.counter is not None:
            self._idle()  # measured once per process, at rest, before any window opens
        return self.reason

    def _delta(self, before: list[float], after: list[float]) -> float:
        assert self.counter is not None
        wraps = self.counter.wraps
        total = 0.0
        for i, (a, b) in enumerate(zip(before, after, strict=True)):
            total += b - a if b >= a or not wraps else b + wraps[i] - a
        return total

    def _idle(self) -> IdlePower:
        counter = self.counter
        assert counter is not None
        if counter.source not in _idle:
            first = counter.read()

            def total() -> float:  # joules since `first`, wrap-around handled
                assert counter is not None
                return self._delta(first, counter.read())

            _idle[counter.source] = measure_idle(total, _safe(counter.power_w))
        return _idle[counter.source]

    def start(self) -> None:
        assert self.counter is not None
        self.state_start = self.counter.state() if self.counter.state else None
        self.start_j = self.counter.read()
        self.started = time.perf_counter()

    def stop(self, work: Work) -> Mapping[str, Value]:
        if work.backend is not None:
            work.backend.synchronize()
        counter = self.counter
        assert counter is not None
        wall = time.perf_counter() - self.started
        gross = self._delta(self.start_j, counter.read())
        state_end = counter.state() if counter.state else None
        idle = self._idle()
        note = f"{counter.source} counter" + (
            "; window under 1 s, imprecise" if wall < MIN_WINDOW_S else ""
        )
        out: dict[str, Value] = {
            PerfName.ENERGY: Value(value=gross, unit="J", higher_is_better=False, note=note),
            PerfName.IDLE_POWER: Value(
                value=idle.watts,
                unit="W",
                higher_is_better=False,
                ci_low=idle.low,
                ci_high=idle.high,
                note=idle.describe(),
            ),
            **net_values(gross, idle, wall, work.input_tokens + work.output_tokens),
            **state_values(self.state_start, state_end),
        }
        return out


def net_values(gross: float, idle: IdlePower, wall: float, tokens: int) -> dict[str, Value]:
    """Net energy with the idle noise as its interval; a window whose work is inside that
    noise says so (its net energy cannot be told from idle) instead of reading 0."""
    net = gross - idle.watts * wall
    noise = idle.noise_w * wall
    within = net <= noise
    how = f"energy minus idle power x window; +-{noise:.3g} J of idle noise"
    if within:
        how += "; within the idle noise: this window's work cannot be told from idle"
    value = max(net, 0.0)
    out: dict[str, Value] = {
        PerfName.ENERGY_NET: Value(
            value=value,
            unit="J",
            higher_is_better=False,
            ci_low=max(net - noise, 0.0),
            ci_high=net + noise if net + noise > 0 else noise,
            note=how,
        )
    }
    if tokens:
        out[PerfName.JOULES_PER_TOKEN] = Value(
            value=value / tokens,
            unit="J/tok",
            higher_is_better=False,
            note="net J / (input + output tokens)"
            + ("; within the idle noise" if within else "")
            + "; not split by phase (the counter is read only at the window's ends)",
        )
    return out


def _safe(read: Callable[[], float] | None) -> Callable[[], float] | None:
    """A power reading that may be unsupported (an old driver): None then."""
    if read is None:
        return None
    try:
        read()
    except Exception:  # NVML raises its own error types for unsupported queries
        return None
    return read


@PROFILERS.register("energy")
def make_energy(backend: Backend | None = None) -> Profiler:
    return EnergyProfiler(backend)
