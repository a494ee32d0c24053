"""The GPU's state at a window's start and end (NVML): SM clock, temperature and why the clock
is held down, so a slow window can be told apart from a throttled card."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.core.perf_names import PerfName
from harness.core.values import Value

# NVML's clock-event ("throttle") reason bits, a stable part of its ABI.
REASONS = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}


@dataclass(frozen=True)
class GPUState:
    sm_clock_mhz: float  # the slowest of the model's GPUs
    temperature_c: float  # the hottest
    reasons: tuple[str, ...]  # any GPU's active clock-event reasons


def reason_names(mask: int) -> tuple[str, ...]:
    return tuple(name for bit, name in REASONS.items() if mask & bit)


def read_state(pynvml: Any, handles: Sequence[Any]) -> GPUState | None:
    """None where this NVML cannot say (an old driver, a virtual GPU)."""
    try:
        clocks = [pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM) for h in handles]
        temps = [pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU) for h in handles]
        reasons_of = getattr(pynvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or (
            pynvml.nvmlDeviceGetCurrentClocksThrottleReasons
        )
        mask = 0
        for handle in handles:
            mask |= int(reasons_of(handle))
    except Exception:  # NVML raises its own error types for unsupported queries
        return None
    return GPUState(float(min(clocks)), float(max(temps)), reason_names(mask))


def state_values(start: GPUState | None, end: GPUState | None) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for when, state, clock, temp in (
        ("start", start, PerfName.GPU_SM_CLOCK_START, PerfName.GPU_TEMPERATURE_START),
        ("end", end, PerfName.GPU_SM_CLOCK_END, PerfName.GPU_TEMPERATURE_END),
    ):
        if state is None:
            continue
        why = ", ".join(state.reasons) or "none"
        out[clock] = Value(
            value=state.sm_clock_mhz, unit="MHz", note=f"at window {when}; clock held by: {why}"
        )
        out[temp] = Value(value=state.temperature_c, unit="C", note=f"at window {when}")
    return out
