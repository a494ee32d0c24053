"""One comparison of the gate: what was compared, its status, role and numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from harness.gate.paired import PairedResult
from harness.gate.rules import Tolerance

Status = Literal["pass", "fail", "inconclusive", "warn", "skipped", "missing", "new"]
Role = Literal["primary", "secondary"]


@dataclass
class Comparison:
    kind: Literal["quality", "perf", "identity", "invariance"]
    task: str
    variant_id: str
    metric: str
    status: Status
    detail: str = ""
    result: PairedResult | None = None
    tolerance: Tolerance | None = None
    extra: dict[str, float] = field(default_factory=dict)
    role: Role = "primary"
    n_paired: int = 0  # samples both runs scored (quality comparisons)
