"""Idle power, measured at rest: windows of the energy counter repeated until the power has
settled (a GPU holds its clocks up for seconds after work; measured right after a warm-up it
read 125-142 W on a card resting at 81-90 W), with their spread and, where the device reports
it, its own power reading beside them as a cross-check."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

IDLE_WINDOW_S = 0.5
SETTLED_WINDOWS = 3  # the last this many windows must agree ...
SETTLED_SPREAD = 0.05  # ... within this share of their median
MAX_SETTLE_S = 20.0  # then the last windows are used as they are, and the note says so


@dataclass(frozen=True)
class IdlePower:
    watts: float  # median of the settled windows
    low: float  # their min and max: the idle noise
    high: float
    windows: int
    waited_s: float
    settled: bool
    reading_w: float | None  # the device's own power reading at rest (NVML), if any

    @property
    def noise_w(self) -> float:
        """Half the settled windows' spread: the idle uncertainty per second of a window."""
        return (self.high - self.low) / 2

    def describe(self) -> str:
        head = (
            f"median of {min(self.windows, SETTLED_WINDOWS)} windows of {IDLE_WINDOW_S} s at "
            f"rest, range {self.low:.2f}-{self.high:.2f} W, after {self.waited_s:.1f} s"
        )
        if not self.settled:
            head += f" (not settled within {SETTLED_SPREAD:.0%} after {MAX_SETTLE_S:g} s)"
        if self.reading_w is not None:
            gap = abs(self.reading_w - self.watts) / max(self.watts, 1e-9)
            head += f"; the device's power reading: {self.reading_w:.1f} W"
            head += " (disagrees by more than 10%)" if gap > 0.10 else " (agrees within 10%)"
        return head


def measure_idle(
    energy_j: Callable[[], float],
    reading_w: Callable[[], float] | None = None,
    window_s: float = IDLE_WINDOW_S,
    max_s: float = MAX_SETTLE_S,
) -> IdlePower:
    """`energy_j`: the counter's total in joules (wrap-around handled by the caller)."""
    powers: list[float] = []
    started = time.perf_counter()
    settled = False
    while True:
        before, clock = energy_j(), time.perf_counter()
        time.sleep(window_s)
        powers.append((energy_j() - before) / (time.perf_counter() - clock))
        last = powers[-SETTLED_WINDOWS:]
        middle = statistics.median(last)
        if len(last) == SETTLED_WINDOWS and max(last) - min(last) <= SETTLED_SPREAD * middle:
            settled = True
            break
        if time.perf_counter() - started >= max_s:
            break
    last = powers[-SETTLED_WINDOWS:]
    return IdlePower(
        watts=statistics.median(last),
        low=min(last),
        high=max(last),
        windows=len(powers),
        waited_s=time.perf_counter() - started,
        settled=settled,
        reading_w=reading_w() if reading_w is not None else None,
    )
