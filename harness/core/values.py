"""Leaf value types that every layer shares: a knob's scalar and a measured number.

They live here, apart from the run store, so that metrics, profilers and the suite schema
can name them without importing the storage module.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# A knob value or a backend parameter as YAML gives it.
Scalar = str | int | float | bool


class Value(BaseModel):
    """A measured number with its unit, uncertainty and direction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float = Field(description="the estimate (a perf value is the median of repeats)")
    unit: str = Field(description="unit of value, stderr and the interval")
    higher_is_better: bool | None = Field(
        default=None, description="direction; None for facts that have none (e.g. bytes of file)"
    )
    stderr: float | None = Field(default=None, description="standard error of value")
    ci_low: float | None = Field(default=None, description="lower end of the interval in `note`")
    ci_high: float | None = Field(default=None, description="upper end of the interval")
    n: int | None = Field(default=None, description="samples (or requests) behind the value")
    note: str | None = Field(default=None, description="how the interval was made, caveats")
    repeats: list[float] | None = Field(
        default=None, description="raw repeated measurements behind a perf median"
    )
