"""The SLO search: the highest load level at which a served model still meets the SLO.

Every level the search tries is an ordinary variant (`model@concurrency=8`) with ordinary
records, run on the entry's one launched server; a resumed run re-reads the levels it
already has and takes the same decisions again. The search's path (each level, its
attainment with the interval, its steady throughput, pass or fail, why it stopped) is
written to `slo_search.json` in the run folder for the report.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from harness.core.errors import UserError
from harness.core.perf_names import PerfName
from harness.core.values import Scalar
from harness.store.records import Record
from harness.suite.schema import ModelConfig, SLOConfig, SLOSearchConfig, SuiteConfig
from harness.variants import Variant

SEARCH_FILE = "slo_search.json"


class SearchLevel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    level: float
    passed: bool
    attainment: float | None  # the worst task's SLO attainment (None: not measured)
    ci_low: float | None
    ci_high: float | None
    steady_output_tokens_per_s: float | None  # summed over the level's tasks
    phase: str  # "grow" or "bisect"


class SearchOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    knob: str
    judge: str
    target: float  # the SLO's attainment
    levels: list[SearchLevel]
    highest_passing: float | None
    stopped: str  # why the search ended


def _level_value(config: SLOSearchConfig, level: float) -> Scalar:
    return int(level) if config.knob == "concurrency" else round(level, 6)


def _judge(
    records: Sequence[Record], search: SLOSearchConfig, slo: SLOConfig, level: float, phase: str
) -> SearchLevel:
    """A level passes when every task's attainment (its lower bound, or its point
    estimate) meets the target; a task with no attainment fails it (fail closed)."""
    attained = [r.perf.get(PerfName.SLO_ATTAINMENT) for r in records]
    measured = [v for v in attained if v is not None]
    # The worst task decides; a task that measured none (or no task at all) fails the level.
    found = min(measured, key=lambda v: v.value) if measured and None not in attained else None
    judged = None
    if found is not None:
        judged = found.ci_low if search.judge == "lower_bound" else found.value
    steady = [
        r.perf[PerfName.STEADY_OUTPUT_TOKENS_PER_S].value
        for r in records
        if PerfName.STEADY_OUTPUT_TOKENS_PER_S in r.perf
    ]
    return SearchLevel(
        level=level,
        passed=judged is not None and judged >= slo.attainment,
        attainment=found.value if found is not None else None,
        ci_low=found.ci_low if found is not None else None,
        ci_high=found.ci_high if found is not None else None,
        steady_output_tokens_per_s=sum(steady) if steady else None,
        phase=phase,
    )


def search_levels(
    search: SLOSearchConfig, evaluate: Callable[[float, str], SearchLevel]
) -> tuple[list[SearchLevel], float | None, str]:
    """Grow by `factor` while passing (and not saturated), then bisect; returns the levels
    tried, the highest passing one and why the search stopped."""
    tried: list[SearchLevel] = []
    best: float | None = None
    failed: float | None = None
    level, stopped = search.start, ""
    while not stopped:
        result = evaluate(level, "grow")
        tried.append(result)
        if not result.passed:
            failed, stopped = level, f"level {level:g} missed the SLO"
        elif _saturated(tried, search):
            best, stopped = (
                level,
                f"saturated at level {level:g}: throughput gained "
                f"< {search.saturation_gain:.0%} over the level before",
            )
        elif level >= search.max:
            best, stopped = level, f"reached max {search.max:g} still meeting the SLO"
        else:
            best, level = level, _grown(level, search)
    while best is not None and failed is not None and failed - best > search.resolution:
        middle = (best + failed) / 2
        middle = math.floor(middle) if search.knob == "concurrency" else middle
        if middle <= best:
            break
        result = evaluate(middle, "bisect")
        tried.append(result)
        best, failed = (middle, failed) if result.passed else (best, middle)
    if best is None:
        stopped = f"the first level ({search.start:g}) already misses the SLO"
    elif failed is not None:
        stopped += f"; bisected to {best:g} (next failing level {failed:g})"
    return tried, best, stopped


def _grown(level: float, search: SLOSearchConfig) -> float:
    grown = level * search.factor
    if search.knob == "concurrency":
        grown = max(math.floor(grown), level + 1)
    return min(grown, search.max)


def _saturated(tried: Sequence[SearchLevel], search: SLOSearchConfig) -> bool:
    if len(tried) < 2:
        return False
    now, before = tried[-1].steady_output_tokens_per_s, tried[-2].steady_output_tokens_per_s
    if now is None or before is None or before <= 0:
        return False
    return now < before * (1 + search.saturation_gain)


def plan_searches(suite: SuiteConfig, variants: list[Variant], where: str) -> list[Variant]:
    """Check each searching entry; its levels are the search's, so an entry that lists no
    `variants:` of its own plans none up front."""
    from harness.backends import BACKENDS
    from harness.backends.options import check_variants

    for index, model in enumerate(suite.models):
        search = model.slo_search
        if search is None:
            continue
        key = f"{where}: key 'models.{index}.slo_search'"
        if suite.slo is None:
            raise UserError(f"{key}: a search needs the suite's 'slo:' to judge levels by")
        if not BACKENDS.get(model.backend, where=f"{where}: key 'models.{index}.backend'").serves:
            raise UserError(
                f"{key}: searches load on a served model (backend 'openai'), "
                f"not backend '{model.backend}'"
            )
        check_variants([Variant(model, ((search.knob, _level_value(search, search.start)),))], key)
    return [v for v in variants if v.model.slo_search is None or v.model.variants is not None]


# Runs one load level's variant and returns how many units ran and the level's records:
# the runner hands this in, so the search stays an algorithm that imports no runner.
RunLevel = Callable[[Variant], tuple[int, list[Record]]]


def run_searches(
    suite: SuiteConfig, run_dir: Path, run_level: RunLevel, note: Callable[[str], None]
) -> int:
    """Run each searching model entry's search; returns how many units ran."""
    outcomes: list[SearchOutcome] = []
    ran = 0
    for model in suite.models:
        if model.slo_search is not None and suite.slo is not None:
            outcome, n = _search_one(model, suite.slo, run_level, note)
            outcomes.append(outcome)
            ran += n
    if outcomes:
        write_outcomes(run_dir / SEARCH_FILE, outcomes)
    return ran


def _search_one(
    model: ModelConfig, slo: SLOConfig, run_level: RunLevel, note: Callable[[str], None]
) -> tuple[SearchOutcome, int]:
    search = model.slo_search
    assert search is not None  # run_searches picks such entries
    ran = 0

    def evaluate(level: float, phase: str) -> SearchLevel:
        nonlocal ran
        variant = Variant(model, ((search.knob, _level_value(search, level)),))
        n, records = run_level(variant)
        ran += n
        return _judge(records, search, slo, level, phase)

    levels, best, stopped = search_levels(search, evaluate)
    best_text = "none" if best is None else f"{best:g}"
    note(f"SLO search on {model.name}: highest {search.knob} meeting the SLO: {best_text}")
    outcome = SearchOutcome(
        model=model.name,
        knob=search.knob,
        judge=search.judge,
        target=slo.attainment,
        levels=levels,
        highest_passing=best,
        stopped=stopped,
    )
    return outcome, ran


def write_outcomes(path: Path, outcomes: Sequence[SearchOutcome]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([o.model_dump(mode="json") for o in outcomes], indent=1))
    os.replace(tmp, path)


def read_outcomes(run_dir: Path) -> list[SearchOutcome]:
    path = run_dir / SEARCH_FILE
    if not path.exists():
        return []
    return [SearchOutcome.model_validate(o) for o in json.loads(path.read_text())]
