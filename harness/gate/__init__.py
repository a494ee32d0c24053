"""The CI gate: baseline vs candidate -> verdict (exit 0 pass, 1 regression, 2 bad input)."""

from harness.gate.compare import Comparison, compare_perf, compare_quality
from harness.gate.identity import compare_identity
from harness.gate.invariance import check_invariance
from harness.gate.output import Verdict, decide, to_json, to_markdown
from harness.gate.rules import GateRules, load_rules
from harness.gate.runs import load, save_baseline

__all__ = [
    "Comparison",
    "GateRules",
    "Verdict",
    "check_invariance",
    "compare_identity",
    "compare_perf",
    "compare_quality",
    "decide",
    "load",
    "load_rules",
    "save_baseline",
    "to_json",
    "to_markdown",
]
