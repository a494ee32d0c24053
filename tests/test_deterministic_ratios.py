"""Weight bytes and parameter counts are facts of a variant, the same in every timed window:
their change against the base is exact and gets no "no interval: < 3 timed windows" note
(the default suite's report printed it on every weights cell of a variant timed once)."""

from __future__ import annotations

import math

from harness.core.perf_names import PerfName
from harness.core.values import Value
from harness.report.analysis.versus import ratio, versus_base
from harness.report.sections.deployer import vs_base_table
from harness.store.records import Record
from tests.test_report import _record


def _timed_once(
    variant: str, knobs: dict[str, str | int | float], weights: float, tps: float
) -> Record:
    perf: dict[str, Value] = {
        PerfName.WEIGHT_BYTES: Value(value=weights, unit="B", repeats=[weights]),
        PerfName.INPUT_TOKENS_PER_S: Value(value=tps, unit="tok/s", repeats=[tps]),
    }
    return _record(variant, knobs, 24.0, tps, 180_000_000, perf)


def test_weight_bytes_change_is_exact_while_a_speed_timed_once_has_no_interval() -> None:
    base = _timed_once("m", {}, 4000.0, 100.0)
    half = _timed_once("m@dtype=bfloat16", {"dtype": "bfloat16"}, 2000.0, 150.0)
    (found,) = versus_base([base, half], {}, 0)
    assert found.ratios[PerfName.WEIGHT_BYTES] == (0.5, 0.5, 0.5)
    speed = found.ratios[PerfName.INPUT_TOKENS_PER_S]
    assert speed is not None and speed[0] == 1.5 and math.isnan(speed[1])
    row = next(line for line in vs_base_table([found]).splitlines() if "bfloat16" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[-1] == "-50.0%"  # the weights column: no interval note
    assert "no interval" in cells[-4]  # input tok/s, timed once: still says so
    measured = ratio(
        Value(value=1.0, unit="s", repeats=[1.0]), Value(value=2.0, unit="s", repeats=[2.0]), 0
    )
    assert measured is not None and math.isnan(measured[1])
