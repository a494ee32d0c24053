"""The plan: a suite validated, its tasks loaded and sampled, its variants expanded.

Everything that can be wrong in the suite, its task files or their data fails here, before
any model loads or any output file is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.adapters import ADAPTERS
from harness.adapters.base import (
    NO_SHOTS,
    Adapter,
    AdapterContext,
    AdapterFactory,
    ShotPicker,
    for_engine,
)
from harness.backends import BACKENDS
from harness.backends.options import check_variants
from harness.core.errors import UserError, did_you_mean
from harness.core.paths import builtin_dir
from harness.core.requests import Request
from harness.data import Sample, ids_digest, load_rows, load_source, select
from harness.metrics.primary import default_primary
from harness.profilers import PROFILERS
from harness.run.engine_fit import check_request_kinds
from harness.run.invariance import plan_invariance, with_noise_floor
from harness.run.references import DivergencePlan, plan_divergence, reference_order
from harness.run.slo_search import plan_searches
from harness.suite.schema import (
    ModelConfig,
    SuiteConfig,
    TaskConfig,
    TaskRef,
    TimingConfig,
    load_suite,
    load_task_file,
    validate,
)
from harness.suite.sources import PIP_PREFIX, resolve
from harness.variants import Variant, expand_variants


def primary_metrics(config: TaskConfig, adapter: Adapter) -> tuple[str, ...]:
    """The task's `primary` list, or its adapter's default primaries."""
    if config.primary:
        return tuple(config.primary)
    return default_primary(config.adapter, [m.name for m in adapter.metrics])


@dataclass(frozen=True)
class PreparedTask:
    """A task's validated spec, its adapter and its sampled rows, ready to run."""

    config: TaskConfig
    path: Path
    adapter: Adapter
    samples: list[Sample]
    n_available: int
    rows_sha256: str = ""  # ids_digest of every row the source held (resume compares it)
    duplicates: str = "keep"  # what was done with rows repeating an earlier row
    n_duplicates: int = 0
    # the request kinds its adapter asks of these samples (built once, at plan time)
    request_kinds: frozenset[type[Request]] = frozenset()

    @property
    def name(self) -> str:
        return self.config.name

    def on_engine(self, answers: frozenset[type[Request]]) -> PreparedTask:
        """The task as an engine answering `answers` runs it (an encoder: the adapter's
        encoder path, e.g. a probe), on the same samples."""
        adapter = for_engine(self.adapter, answers)
        if adapter is self.adapter:
            return self
        kinds = frozenset(type(r) for s in self.samples for r in adapter.requests(s))
        return replace(self, adapter=adapter, request_kinds=kinds)

    @property
    def primary(self) -> tuple[str, ...]:
        """The metrics the gate judges this task on (see harness.metrics.primary)."""
        return primary_metrics(self.config, self.adapter)

    @property
    def duplicates_convention(self) -> str:
        """The record's `duplicate_rows` convention: were exact repeats scored."""
        if self.duplicates == "drop":
            return f"dropped: {self.n_duplicates} exact repeat(s) of earlier rows not scored"
        return f"kept: {self.n_duplicates} row(s) repeat an earlier row and are scored too"


@dataclass(frozen=True)
class Plan:
    suite: SuiteConfig
    suite_path: Path
    tasks: list[PreparedTask]
    variants: list[Variant]
    profilers: list[str]
    limit: int | None = None  # --limit, kept in the manifest so a resume uses the same
    divergence: DivergencePlan = field(default_factory=DivergencePlan)  # KL comparisons
    audit_base: dict[str, str] = field(default_factory=dict)  # variant id -> its audit's base

    def timing_for(self, variant: Variant, task: str) -> TimingConfig:
        """The variant's timed repeats on `task`, raised to the most any entry of the same
        model name asks for on it: the base every variant is compared with is then timed in
        as many windows as they are, so each speed ratio has an interval (a base timed once
        beside variants timed three times gives ratios without one)."""
        own = variant.model.timing or self.suite.timing
        peers = [
            entry.timing or self.suite.timing
            for entry in self.suite.models
            if entry.name == variant.model.name and (entry.tasks is None or task in entry.tasks)
        ]
        most = max(peers, key=lambda t: (t.min_repeats, t.min_time_s), default=own)
        if most.min_repeats <= own.min_repeats:
            return own
        return most  # its whole timing, so base and variants are timed the same way

    def tasks_for(self, variant: Variant) -> list[PreparedTask]:
        """The suite's tasks, narrowed to the model entry's `tasks` list when it has one."""
        wanted = variant.model.tasks
        return [t for t in self.tasks if wanted is None or t.name in wanted]


def plan(suite_path: Path, limit: int | None) -> Plan:
    """Validate everything and load the data before any model or output file is touched."""
    return plan_suite(load_suite(suite_path), suite_path, limit)


def plan_suite(suite: SuiteConfig, suite_path: Path, limit: int | None) -> Plan:
    """`plan` for a suite already validated (e.g. built from command-line flags); relative
    paths in it resolve against `suite_path`'s folder, which need not exist yet."""
    tasks = [prepare_task(ref, suite, suite_path, limit) for ref in suite.tasks]
    for name in suite.profilers:
        PROFILERS.get(name, where=f"{suite_path}: key 'profilers'")
    variants = with_noise_floor(suite, expand_variants(suite, str(suite_path)))
    names = {t.name for t in tasks}
    for index, model in enumerate(suite.models):
        _check_model(model, index, suite_path)
        for name in model.tasks or []:
            if name not in names:
                raise UserError(
                    f"{suite_path}: key 'models.{index}.tasks': '{name}' is not among "
                    f"the suite's tasks{did_you_mean(name, names)}"
                )
    check_variants(variants, str(suite_path))  # knobs each backend honours; extras
    variants = plan_searches(suite, variants, str(suite_path))  # searched levels come later
    made = Plan(suite, suite_path, tasks, variants, list(suite.profilers), limit)
    check_request_kinds(made)
    units = [(v, [(t.name, t.request_kinds) for t in made.tasks_for(v)]) for v in variants]
    found = plan_divergence(suite, units, str(suite_path))
    ordered = reference_order(variants, found)
    audit = plan_invariance(suite, variants)
    return replace(made, variants=ordered, divergence=found, audit_base=audit)


def _check_model(model: ModelConfig, index: int, suite_path: Path) -> None:
    """Catch a wrong backend or a missing local model before anything runs."""
    where = f"{suite_path}: key 'models.{index}"
    BACKENDS.get(model.backend, where=f"{where}.backend'")
    local = isinstance(model.source, str) and not model.source.startswith(PIP_PREFIX)
    # A server the suite does not start from the file only names its model with `source`.
    from_file = model.server is None or "{source}" in " ".join(model.server.command or [])
    if BACKENDS.get(model.backend).reads_source and local and from_file:
        try:
            resolve(str(model.source), suite_path.parent)
        except UserError as err:
            raise UserError(f"{where}.source': {err}") from None


def task_dirs(suite: SuiteConfig, suite_path: Path) -> list[Path]:
    extra = [suite_path.parent / d for d in suite.task_dirs]
    for index, folder in enumerate(extra):
        if not folder.is_dir():
            raise UserError(
                f"{suite_path}: key 'task_dirs.{index}': folder '{suite.task_dirs[index]}' not "
                f"found (looked for {folder}; relative paths start at the suite's folder)"
            )
    return [*extra, builtin_dir("tasks")]


def available_tasks(dirs: list[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in reversed(dirs):  # earlier folders override later ones
        for path in sorted(folder.glob("*.yaml")):
            found[path.stem] = path
    return found


def find_task(name: str, dirs: list[Path], where: str) -> Path:
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        if not path.is_file():
            raise UserError(f"{where}: task file '{name}' not found")
        return path
    known = available_tasks(dirs)
    if name not in known:
        raise UserError(f"{where}: unknown task '{name}'{did_you_mean(name, known)}")
    return known[name]


def adapter_factory(task: TaskConfig, where: str) -> AdapterFactory:
    """The task's adapter class, refusing options it would silently ignore."""
    factory = ADAPTERS.get(task.adapter, where=f"{where}: key 'adapter'")
    if task.fewshot.k and not factory.uses_fewshot:
        raise UserError(
            f"{where}: key 'fewshot.k' = {task.fewshot.k}, but the '{task.adapter}' adapter "
            "takes no examples (it scores each sample zero-shot); remove 'fewshot'"
        )
    return factory


def build_adapter(task: TaskConfig, where: str, seed: int, shots: ShotPicker = NO_SHOTS) -> Adapter:
    factory = adapter_factory(task, where)
    options = validate(factory.Options, task.options, where, prefix="options")
    return factory(options, AdapterContext(task=task, seed=seed, shots=shots))


def prepare_task(
    ref: str | TaskRef, suite: SuiteConfig, suite_path: Path, limit: int | None
) -> PreparedTask:
    """Validate, load and sample one task before any model is loaded (fail fast)."""
    name = ref if isinstance(ref, str) else ref.name
    path = find_task(name, task_dirs(suite, suite_path), str(suite_path))
    config = load_task_file(path)
    adapter_factory(config, str(path))  # fail on a wrong adapter before loading any data
    loaded = load_rows(config.source, str(path), path.parent)
    rows = loaded.samples
    n = ref.n if isinstance(ref, TaskRef) and ref.n else config.n
    if limit is not None:
        n = min(n, limit) if n else limit
    samples = select(rows, n, suite.seed)
    shots = _shot_picker(config, path, rows, samples, suite.seed)
    adapter = build_adapter(config, str(path), suite.seed, shots)
    kinds = _check_samples(adapter, config.adapter, samples, path)
    _check_primary(config, adapter, path)
    digest = ids_digest(sorted(rows, key=lambda r: r.id))
    return PreparedTask(
        config,
        path,
        adapter,
        samples,
        len(rows),
        digest,
        loaded.duplicates,
        loaded.n_duplicates,
        kinds,
    )


def _check_primary(config: TaskConfig, adapter: Adapter, path: Path) -> None:
    names = [m.name for m in adapter.metrics]
    for name in config.primary or []:
        if name not in names:
            raise UserError(
                f"{path}: key 'primary': '{name}' is not a metric of adapter "
                f"'{config.adapter}'{did_you_mean(name, names)}"
            )


def _shot_picker(
    config: TaskConfig, path: Path, rows: list[Sample], samples: list[Sample], seed: int
) -> ShotPicker:
    if config.fewshot.k == 0:
        return NO_SHOTS
    if config.fewshot.source is not None:
        pool = load_source(config.fewshot.source, f"{path} (fewshot)", path.parent)
    else:
        chosen = {s.id for s in samples}
        pool = [r for r in rows if r.id not in chosen]
    if len(pool) < config.fewshot.k:
        raise UserError(
            f"{path}: key 'fewshot.k' = {config.fewshot.k} but only {len(pool)} rows are left "
            "for examples; lower k or give 'fewshot.source'"
        )
    return ShotPicker(pool, config.fewshot.k, seed)


def _check_samples(
    adapter: Adapter, name: str, samples: list[Sample], path: Path
) -> frozenset[type[Request]]:
    """Build every sample's requests now, so that a template naming a field the data lacks
    fails before any model loads; the kinds they are of."""
    kinds: set[type[Request]] = set()
    for sample in samples:
        origin = sample.extra.get("origin", f"sample {sample.id}")
        try:
            kinds.update(type(r) for r in adapter.requests(sample))
        except UserError as err:
            raise UserError(f"{path}: {origin}: {err}") from None
        except (KeyError, TypeError, AttributeError) as err:  # a field of the wrong shape
            raise UserError(
                f"{path}: {origin}: the row does not fit adapter '{name}' "
                f"({type(err).__name__}: {err}); check the data's fields and the task's options"
            ) from None
    return frozenset(kinds)
