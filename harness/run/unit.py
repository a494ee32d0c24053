"""What one finished (variant, task) unit hands to the driver, which alone writes the store."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.core.requests import TopTokens
from harness.store.records import Record
from harness.store.runfiles import SampleRow


@dataclass(frozen=True)
class KeptTokens:
    """A unit's top-k token distributions, one per sample in sample order, where the plan
    compares it with another unit; else the reason they could not be taken."""

    tops: list[TopTokens] | None = None
    reason: str | None = None


@dataclass(frozen=True)
class UnitResult:
    record: Record
    samples: list[SampleRow]
    kept: KeptTokens | None = field(default=None)  # None: the plan compares nothing here
