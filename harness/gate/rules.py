"""Gate rules: tolerances per metric, the confidence, and which perf metrics count."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from harness.config import StrictModel, read_yaml, validate


class Tolerance(StrictModel):
    """A drop the gate accepts. `relative` drops are fractions of the baseline value."""

    max_drop: float = Field(default=0.0, ge=0)
    relative: bool = False


class Rule(StrictModel):
    """Overrides the default tolerance where task and metric match (None matches any)."""

    task: str | None = None
    metric: str | None = None
    max_drop: float = Field(ge=0)
    relative: bool = False


class GateRules(StrictModel):
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    quality: Tolerance = Field(default_factory=Tolerance)
    perf: Tolerance = Field(default_factory=lambda: Tolerance(max_drop=0.1, relative=True))
    perf_metrics: list[str] = Field(
        default_factory=lambda: ["input_tokens_per_s", "output_tokens_per_s"]
    )
    rules: list[Rule] = Field(default_factory=list)
    n_bootstrap: int = Field(default=1000, ge=100)
    seed: int = 0

    def tolerance(self, task: str, metric: str) -> Tolerance:
        for rule in self.rules:
            if rule.task in (None, task) and rule.metric in (None, metric):
                return Tolerance(max_drop=rule.max_drop, relative=rule.relative)
        return self.quality


def load_rules(path: Path | None) -> GateRules:
    if path is None:
        return GateRules()
    return validate(GateRules, read_yaml(path), str(path))
