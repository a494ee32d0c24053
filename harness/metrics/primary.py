"""Which metrics a task is judged on (its primary metrics) and which are only reported.

The gate corrects for multiple comparisons over primary metrics only: a task's accuracy, ECE,
Brier and macro-F1 are four views of the same predictions, and spreading Holm's correction
over all of them let a collapse pass. A task file may name its own (`primary: [...]`);
otherwise its adapter's default below applies. The choice is stored in each record's metric
specs (`MetricSpec.primary_rank`) so the gate reads what the run used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ADAPTER_PRIMARY: Mapping[str, tuple[str, ...]] = {
    "classification": ("accuracy",),
    "multiple_choice": ("accuracy",),
    "qa": ("exact_match",),
    "translation": ("chrf",),
    "summarization": ("rougeL",),
    "perplexity": ("bits_per_byte",),
}


def default_primary(adapter: str, metrics: Iterable[str]) -> tuple[str, ...]:
    """The adapter's default primaries among `metrics`, or all of them for an unknown adapter
    (a third-party adapter that declares nothing keeps the old, all-metrics behaviour)."""
    names = list(metrics)
    chosen = tuple(m for m in ADAPTER_PRIMARY.get(adapter, ()) if m in names)
    return chosen or tuple(names)
