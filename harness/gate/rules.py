"""Gate rules: tolerances per metric, power requirements, the confidence, and which perf
metrics count."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from harness.core.perf_names import PerfName
from harness.suite.base import StrictModel
from harness.suite.schema import read_yaml, validate

Action = Literal["fail", "warn"]
DEFAULT_DETECT_REL = 0.10  # with max_drop 0, a comparison must detect a 10% drop of baseline


class Tolerance(StrictModel):
    """A drop the gate accepts, and how it treats comparisons that could not see a drop.

    `relative` drops are fractions of the baseline value. `must_detect` is the smallest drop
    (same units) a comparison must be able to detect with 80% power; unset, it is `max_drop`
    when that is positive, else 10% of the baseline value. A comparison that cannot is
    inconclusive; `underpowered` says whether that fails the gate or only warns.
    `partial_overlap` says whether runs sharing only some sample ids may be compared.
    """

    max_drop: float = Field(default=0.0, ge=0)
    relative: bool = False
    must_detect: float | None = Field(default=None, gt=0)
    underpowered: Action = "fail"
    partial_overlap: Literal["fail", "allow"] = "fail"

    def detect_target(self, baseline: float) -> float:
        """The drop (in this tolerance's units) the comparison must be able to detect."""
        if self.must_detect is not None:
            return self.must_detect
        if self.max_drop > 0:
            return self.max_drop
        return DEFAULT_DETECT_REL if self.relative else DEFAULT_DETECT_REL * abs(baseline)


class Rule(StrictModel):
    """Overrides the default tolerance where task and metric match (None matches any);
    fields left unset keep the default's value."""

    task: str | None = None
    metric: str | None = None
    max_drop: float | None = Field(default=None, ge=0)
    relative: bool | None = None
    must_detect: float | None = Field(default=None, gt=0)
    underpowered: Action | None = None
    partial_overlap: Literal["fail", "allow"] | None = None


class GateRules(StrictModel):
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    quality: Tolerance = Field(default_factory=Tolerance)
    perf: Tolerance = Field(default_factory=lambda: Tolerance(max_drop=0.1, relative=True))
    perf_metrics: list[str] = Field(
        default_factory=lambda: [
            str(PerfName.INPUT_TOKENS_PER_S),
            str(PerfName.OUTPUT_TOKENS_PER_S),
        ]
    )
    rules: list[Rule] = Field(default_factory=list)
    # Which primary comparisons share one Holm family: each unit's (one task on one variant:
    # "did this variant get worse on this task?"), each task's across all variants, or the
    # whole run's (strictest; every p-value must then clear alpha / number of primaries).
    family: Literal["unit", "task", "run"] = "unit"
    # `require`: the candidate's invariance audit must exist and no configuration may exceed
    # its noise floor; `warn`: report those as warnings; `ignore`: no invariance check.
    invariance: Literal["ignore", "warn", "require"] = "ignore"
    n_bootstrap: int = Field(default=1000, ge=100)
    seed: int = 0

    def tolerance(self, task: str, metric: str) -> Tolerance:
        for rule in self.rules:
            if rule.task in (None, task) and rule.metric in (None, metric):
                given = rule.model_dump(exclude={"task", "metric"}, exclude_none=True)
                return self.quality.model_copy(update=given)
        return self.quality


def load_rules(path: Path | None) -> GateRules:
    if path is None:
        return GateRules()
    return validate(GateRules, read_yaml(path), str(path))
