"""Honest energy: idle power measured once the device has settled, with its spread and its
own power reading beside it; net energy inside the idle noise says so; the GPU's clocks,
heat and throttling at a window's ends (fake NVML: this machine has no GPU)."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest

from harness.profilers import energy
from harness.profilers.base import Work
from harness.profilers.gpu_state import reason_names
from harness.profilers.idle import IdlePower, measure_idle
from tests.test_machine_identity import FakeNVML, _backend_on, _fake_torch


class CoolingCard:
    """Power falls from 140 W to 85 W over 0.3 s after work (clocks held up), then rests."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def power(self, t: float) -> float:
        return 85.0 + 55.0 * max(0.0, 1 - t / 0.3)

    def joules(self) -> float:
        t = time.perf_counter() - self.t0
        warm = min(t, 0.3)
        return 85.0 * t + 55.0 * (warm - warm**2 / 0.6)


def test_idle_power_waits_for_the_device_to_settle() -> None:
    card = CoolingCard()
    idle = measure_idle(card.joules, lambda: 86.0, window_s=0.05, max_s=5.0)
    assert idle.settled and idle.watts == pytest.approx(85.0, rel=0.03)  # not ~140 W
    assert idle.low <= idle.watts <= idle.high and idle.windows > 3
    assert "agrees within 10%" in idle.describe()
    hot = measure_idle(card.joules, None, window_s=0.05, max_s=0.0)  # no time to settle
    assert not hot.settled and "not settled" in hot.describe()


def test_net_energy_within_the_idle_noise_says_so_instead_of_zero() -> None:
    idle = IdlePower(85.0, 80.0, 90.0, 5, 3.0, True, None)  # +-5 W of noise
    quiet = energy.net_values(gross=85.0 * 2 + 3.0, idle=idle, wall=2.0, tokens=100)
    net = quiet["energy_net"]
    assert net.value == pytest.approx(3.0) and net.ci_low == 0.0 and net.ci_high == 13.0
    assert "within the idle noise" in (net.note or "")
    assert "within the idle noise" in (quiet["joules_per_token"].note or "")
    busy = energy.net_values(gross=85.0 * 2 + 200.0, idle=idle, wall=2.0, tokens=100)
    assert busy["energy_net"].ci_low == pytest.approx(190.0)
    assert "within" not in (busy["energy_net"].note or "")
    below = energy.net_values(gross=160.0, idle=idle, wall=2.0, tokens=0)  # under idle
    assert below["energy_net"].value == 0.0 and below["energy_net"].ci_high == 10.0


class StatefulNVML(FakeNVML):
    NVML_CLOCK_SM, NVML_TEMPERATURE_GPU = 1, 0

    def nvmlDeviceGetPowerUsage(self, handle: str) -> int:
        return 84_000  # mW

    def nvmlDeviceGetClockInfo(self, handle: str, kind: int) -> int:
        return 1980

    def nvmlDeviceGetTemperature(self, handle: str, kind: int) -> int:
        return 61

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: str) -> int:
        return 0x4 | 0x20  # power cap and thermal slowdown


def test_the_window_records_clocks_heat_and_throttling(monkeypatch: pytest.MonkeyPatch) -> None:
    fake: Any = StatefulNVML()
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(["bbb", "aaa"]))
    monkeypatch.setattr(energy, "_idle", {"nvml (cuda:0)": IdlePower(80, 79, 81, 3, 2, True, 84)})
    profiler = energy.EnergyProfiler(_backend_on(0))
    assert profiler.available() is None
    profiler.start()
    fake.energy_mj["pci1"] += 50_000  # 50 J of work
    out = profiler.stop(Work(input_tokens=10))
    assert out["energy"].value == pytest.approx(50.0)
    assert out["gpu_sm_clock_start"].value == 1980 and out["gpu_temperature_end"].value == 61
    assert "sw_power_cap, sw_thermal_slowdown" in (out["gpu_sm_clock_end"].note or "")
    assert reason_names(0x1) == ("gpu_idle",)
