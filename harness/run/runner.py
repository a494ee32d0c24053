"""Run a plan unit by unit: load each variant, measure each task on it, write its record.

A unit is one (variant, task): its requests go through the measured window (measure.py),
its responses are scored by the task's adapter, and its Record and sample rows are appended
to the run store, record last, so a killed run resumes after the last finished unit.
"""

from __future__ import annotations

import math
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from harness.adapters.base import score_unit
from harness.core.errors import UserError, user_path
from harness.core.perf_names import PerfName
from harness.core.perf_specs import SpecContext, perf_specs
from harness.core.requests import Generate
from harness.hardware.fingerprint import fingerprint
from harness.hardware.process_memory import release_freed_memory
from harness.metrics import summarize
from harness.metrics.spec import metric_specs
from harness.profilers.slo import SLOValues, slo_values
from harness.run.budget import budget_values
from harness.run.commit import commit_unit
from harness.run.cost import cost_per_correct
from harness.run.divergence import keep_top_tokens
from harness.run.load import LoadedVariant, load_variant
from harness.run.measure import Measured, measure
from harness.run.plan import Plan, PreparedTask
from harness.run.progress import ProgressSink
from harness.run.resume import check_fresh, check_resumable, data_digest
from harness.run.sample_rows import sample_rows
from harness.run.slo_search import run_searches
from harness.run.unit import UnitResult
from harness.store.records import Record, RunStore
from harness.store.repair import repair_run
from harness.store.runfiles import Manifest, TaskEntry
from harness.suite.schema import file_sha256
from harness.variants import Variant


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def open_store(
    p: Plan, out: Path, resume: bool, notes: list[str] | None = None
) -> tuple[RunStore, set[tuple[str, str]]]:
    """The run folder's store and its finished units; the caller holds the folder's lock.
    What a resume's repair set aside is added to `notes`."""
    store = RunStore(out)
    if resume:
        check_resumable(p, store, out)
        repaired = repair_run(store)
        (notes if notes is not None else []).extend(repaired.notes)
        return store, repaired.done
    check_fresh(store, out)
    store.create(_manifest(p, out.name, file_sha256(p.suite_path)))
    return store, set()


def _manifest(p: Plan, run_id: str, suite_hash: str) -> Manifest:
    return Manifest(
        run_id=run_id,
        suite=p.suite.name,
        suite_path=str(p.suite_path),
        suite_sha256=suite_hash,
        suite_config=p.suite.model_dump(mode="json"),
        tasks={
            t.name: TaskEntry(
                version=t.config.version,
                path=str(t.path),
                sha256=file_sha256(t.path),
                n=len(t.samples),
                n_available=t.n_available,
                data_sha256=data_digest(t),
                n_duplicates=t.n_duplicates,
                duplicates=t.duplicates,
            )
            for t in p.tasks
        },
        created_at=datetime.now(UTC).isoformat(),
        command=" ".join(sys.argv),
        limit=p.limit,
        env=fingerprint(),
    )


def execute(p: Plan, store: RunStore, done: set[tuple[str, str]], sink: ProgressSink) -> int:
    """Run every unfinished (variant, task) unit, then each model entry's SLO search;
    returns how many ran. Consecutive load levels of one served entry share its server."""
    held = HeldEngine()

    def run_level(variant: Variant) -> tuple[int, list[Record]]:
        ran = run_variant(p, store, done, sink, held, variant)
        wanted = {(variant.id, t.name) for t in p.tasks_for(variant)}
        return ran, [r for r in store.records() if r.unit_key in wanted]

    try:
        ran = 0
        for variant in p.variants:
            ran += run_variant(p, store, done, sink, held, variant)
        return ran + run_searches(p.suite, store.root, run_level, sink.note)
    finally:
        held.release()


class HeldEngine:
    """The loaded variant kept between units: a served entry's next load level retargets
    the running server (`Backend.switch_load`) instead of starting another one."""

    def __init__(self) -> None:
        self.loaded: LoadedVariant | None = None
        self.variant: Variant | None = None

    def get(self, p: Plan, variant: Variant) -> LoadedVariant:
        held = self.loaded
        if held is not None and self.variant is not None:
            if self.variant.model is variant.model and held.backend.switch_load(variant.knob_dict):
                self.variant = variant
                return held
            self.release()
        self.loaded, self.variant = _load_named(p, variant), variant
        return self.loaded

    def release(self) -> None:
        if self.loaded is not None:
            self.loaded.backend.close()  # e.g. stop a launched server
            self.loaded = self.variant = None
            release_freed_memory()  # free one model's weights before the next one loads


def run_variant(
    p: Plan,
    store: RunStore,
    done: set[tuple[str, str]],
    sink: ProgressSink,
    held: HeldEngine,
    variant: Variant,
) -> int:
    """Run the variant's unfinished units on the held (or a newly loaded) engine."""
    pending = [t for t in p.tasks_for(variant) if (variant.id, t.name) not in done]
    if not pending:
        return 0
    loaded = held.get(p, variant)
    run_id = store.manifest().run_id
    try:
        for task in pending:
            result = run_unit(p, run_id, variant, loaded, task, sink)
            with user_path("--out", store.root):  # a full disk: exit 2, resumable
                commit_unit(p, store, result)
            done.add((variant.id, task.name))
    except BaseException:
        held.release()
        raise
    return len(pending)


def _load_named(p: Plan, variant: Variant) -> LoadedVariant:
    """Load a variant; a failure names the suite's model entry and the key to look at."""
    try:
        return load_variant(variant, p.suite_path.parent)
    except UserError as err:
        model = variant.model
        index = p.suite.models.index(model)
        key = "server" if model.server is not None else "source"
        raise UserError(
            f"{p.suite_path}: model entry '{model.name}' (key 'models.{index}.{key}') did not "
            f"load as variant {variant.id}: {err}"
        ) from None


def run_unit(
    p: Plan,
    run_id: str,
    variant: Variant,
    loaded: LoadedVariant,
    task: PreparedTask,
    sink: ProgressSink,
) -> UnitResult:
    started = datetime.now(UTC).isoformat()
    clock = time.perf_counter()
    task = task.on_engine(loaded.backend.answers)  # an encoder runs the task's encoder path
    per_sample = [task.adapter.requests(s) for s in task.samples]
    sink.begin(f"{variant.id} · {task.name}", len(per_sample))
    timing = p.timing_for(variant, task.name)
    level = variant.model.load_level or p.suite.load_level
    measured = measure(loaded.backend, per_sample, p.profilers, sink.advance, timing, level)
    kept = keep_top_tokens(p, (variant.id, task.name), loaded.backend, per_sample)  # untimed
    sink.end()
    scored = score_unit(task.adapter, task.samples, measured.responses)
    _check_finite(scores := scored.scores, task, variant)
    quality = {m.name: summarize(m, scores, p.suite.seed) for m in task.adapter.metrics}
    slo = _gated_values(p, task, measured, scores)
    perf = {
        **measured.perf,
        **loaded.perf_values(),
        **cost_per_correct(
            measured.perf, scores, measured.responses, p.suite.seed, measured.window_responses
        ),
        **slo.perf,
        **scored.perf,
    }
    record = Record(
        run_id=run_id,
        suite=p.suite.name,
        task=task.name,
        task_version=task.config.version,
        adapter=task.config.adapter,
        variant_id=variant.id,
        model=variant.model.name,
        n_params=loaded.n_params,
        knobs=variant.knob_dict,
        quality={**quality, **slo.quality},
        metrics=metric_specs(task.adapter.metrics, task.primary, slo.metrics),
        perf=perf,
        perf_specs=perf_specs(perf, _spec_context(loaded, task)),
        unavailable={**measured.unavailable, **slo.unavailable},
        conventions=_unit_conventions(task, scored.conventions, loaded, measured.repeats),
        started_at=started,
        wall_s=time.perf_counter() - clock,
        model_identity=loaded.identity,
        model_released=_released(variant),
        audit_base=p.audit_base.get(variant.id),
        env=fingerprint(),
        resolved=loaded.backend.resolved(),  # what the knobs became: no reader restates defaults
    )
    rows = sample_rows(variant.id, task, per_sample, measured.responses, scores)
    return UnitResult(record, rows, kept)


def _gated_values(
    p: Plan, task: PreparedTask, measured: Measured, scores: Sequence[Mapping[str, float]]
) -> SLOValues:
    """Scores gated per sample: by the SLO (served requests), and by the suite's budgets."""
    wall = measured.perf[PerfName.WALL_TIME].value if PerfName.WALL_TIME in measured.perf else None
    metrics, seed = task.adapter.metrics, p.suite.seed
    slo = slo_values(
        p.suite.slo, measured.responses, scores, metrics, wall, seed, measured.window_responses
    )
    budget = budget_values(p.suite.budget, measured.perf, measured.responses, scores, metrics, seed)
    return SLOValues(
        quality={**slo.quality, **budget.quality},
        perf=slo.perf,
        unavailable={**slo.unavailable, **budget.unavailable},
        metrics=(*slo.metrics, *budget.metrics),
    )


def _released(variant: Variant) -> str | None:
    day = variant.model.released
    return day.isoformat() if day is not None else None


def _unit_conventions(
    task: PreparedTask, scoring: Mapping[str, str], loaded: LoadedVariant, repeats: str
) -> dict[str, str]:
    """The conventions of the task's adapter, its scoring, the engine, the rows and the
    timing windows, in that order (a later one wins a shared key)."""
    return {
        **task.adapter.conventions,
        **scoring,
        **loaded.conventions(),
        "duplicate_rows": task.duplicates_convention,
        "timing_windows": repeats,
    }


def _spec_context(loaded: LoadedVariant, task: PreparedTask) -> SpecContext:
    """What the unit's perf specs depend on: how the engine times requests, whose kernels
    ran, and whether the window generated (else it only read prompts: prefill)."""
    return SpecContext(
        latency_scope=loaded.backend.latency_scope,
        kernels=loaded.facts.kernels(),
        generated=Generate in task.request_kinds,
    )


def _check_finite(
    scores: Sequence[Mapping[str, float]], task: PreparedTask, variant: Variant
) -> None:
    bad = [
        s.id
        for s, sc in zip(task.samples, scores, strict=True)
        if any(not math.isfinite(v) for v in sc.values())
    ]
    if bad:
        raise UserError(
            f"variant '{variant.id}' gave NaN or infinite scores on task '{task.name}' for "
            f"{len(bad)} of {len(scores)} samples (first: {bad[0]}); the model's numerics "
            f"failed (float16 overflow is a common cause). Finished units are kept."
        )
