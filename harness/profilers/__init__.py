"""Profilers: begin/end windows around dispatch; loading and warmup are never inside."""

from harness.profilers.base import PROFILERS, Profiler, Work

# Importing the modules registers the profilers.
from harness.profilers import timing as _timing  # noqa: F401  isort: skip
from harness.profilers import memory as _memory  # noqa: F401  isort: skip
from harness.profilers import energy as _energy  # noqa: F401  isort: skip
from harness.profilers import roofline as _roofline  # noqa: F401  isort: skip
from harness.profilers import serving as _serving  # noqa: F401  isort: skip

__all__ = ["PROFILERS", "Profiler", "Work"]
