"""A run folder for report tests, written through the run store as the runner writes it:
per-sample classification scores summarized into records, speeds with their timed repeats,
weight bytes as facts. Task `topic` holds a deployer's choice with known answers; task
`topic2` separates nothing (same scores, overlapping speeds)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.adapters.choice import ClassificationAdapter
from harness.core.values import Value
from harness.metrics import summarize
from harness.metrics.choice import choice_scores
from harness.store.records import Record, RunStore
from harness.store.runfiles import SampleRow
from tests.conftest import make_manifest, make_specs

N, WRONG = 400, 80  # the base gets 320 of 400 right: accuracy 0.8
BASE_SPEED = (100.0, 103.0, 98.0)
BASE_BYTES = 4000.0


@dataclass(frozen=True)
class Variant:
    name: str
    knobs: dict[str, str | int | float | bool]
    lost: int  # the base's right answers this variant gets wrong
    speed: tuple[float, ...]  # input tokens/s of the timed windows
    weight_bytes: float
    n: int = N  # samples scored
    wrong: int = WRONG  # the base's wrong answers (every variant gets these wrong too)
    perf: dict[str, Value] = field(default_factory=dict)  # further perf values, as measured


DEPLOY = {
    "topic": [
        Variant("m", {}, 0, BASE_SPEED, BASE_BYTES),
        # same answers, 1.2x: the fastest with no detectable loss
        Variant("m@quant=q8_0", {"quant": "q8_0"}, 0, (120.0, 123.0, 118.0), 2125.0),
        # 8 answers lost (-0.02, worst end about -0.034: 4.3% of 0.8), 1.5x: within 5%
        Variant("m@quant=q4_k_m", {"quant": "q4_k_m"}, 8, (150.0, 153.0, 148.0), 1125.0),
        # 80 lost (-0.2), 2x: a trade-off on the frontier only
        Variant("m@quant=q2_k", {"quant": "q2_k"}, 80, (200.0, 206.0, 196.0), 700.0),
    ],
    "topic2": [
        Variant("m", {}, 0, BASE_SPEED, BASE_BYTES),
        Variant("m@quant=q8_0", {"quant": "q8_0"}, 0, (101.0, 104.0, 99.0), 2125.0),
    ],
}


def correct(lost: int, n: int = N, wrong: int = WRONG) -> list[float]:
    return [0.0] * (wrong + lost) + [1.0] * (n - wrong - lost)


def _timed(speed: tuple[float, ...]) -> Value:
    """A speed as the runner records it: the median of its windows, with an interval only
    from three windows on."""
    spread = len(speed) >= 3
    return Value(
        value=statistics.median(speed),
        unit="tok/s",
        higher_is_better=True,
        ci_low=min(speed) if spread else None,
        ci_high=max(speed) if spread else None,
        repeats=list(speed),
    )


def _unit(task: str, v: Variant) -> tuple[Record, list[SampleRow]]:
    accuracy = next(m for m in ClassificationAdapter.metrics if m.name == "accuracy")
    scores = [
        choice_scores([-0.1, -3.0] if right else [-3.0, -0.1], [3, 3], 0, [4, 4])
        for right in correct(v.lost, v.n, v.wrong)
    ]
    weights = Value(value=v.weight_bytes, unit="B", higher_is_better=False)
    record = Record(
        run_id="run1",
        suite="snap",
        task=task,
        task_version=1,
        adapter="classification",
        variant_id=v.name,
        model="m",
        n_params=1000,
        knobs=v.knobs,
        quality={"accuracy": summarize(accuracy, scores, 0)},
        perf={"input_tokens_per_s": _timed(v.speed), "weight_bytes": weights, **v.perf},
        metrics=make_specs("classification", [accuracy], ["accuracy"]),
        started_at="t",
        wall_s=1.0,
    )
    rows = [
        SampleRow(variant_id=v.name, task=task, sample_id=f"s{i}", label="0", scores=s)
        for i, s in enumerate(scores)
    ]
    return record, rows


def write_deploy_run(folder: Path, plan: Mapping[str, list[Variant]] = DEPLOY) -> Path:
    store = RunStore(folder)
    store.create(make_manifest())
    for task, variants in plan.items():
        for v in variants:
            store.append_unit(*_unit(task, v))
    return folder
