"""Where a suite's units run: `local` (this process, one variant after another) or `ray`
(each variant a Ray actor placed by the resources its model entry declares). Either way the
driver alone writes the run store, so resume, report and gate never know which one ran."""

from __future__ import annotations

from harness.executors.base import (
    EXECUTORS,
    EXIT_UNITS_FAILED,
    ExecutorOptions,
    Outcome,
    UnitFailure,
    run_units,
)

__all__ = [
    "EXECUTORS",
    "EXIT_UNITS_FAILED",
    "ExecutorOptions",
    "Outcome",
    "UnitFailure",
    "run_units",
]
