"""Knob registry and the expansion of a suite's variant axes into Variants."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.config import ModelConfig, SuiteConfig, VariantsConfig
from harness.errors import UserError, did_you_mean
from harness.registry import Registry
from harness.values import Scalar
from harness.variants.facts import TransformFacts


@dataclass(frozen=True)
class Axis:
    """A scaling axis of the report: where a variant sits, read from its record."""

    name: str  # the record's value along it (n_params, or a fact in perf)
    label: str  # the plot's axis label
    log_scale: bool


N_PARAMS = Axis("n_params", "effective parameters", log_scale=True)
BITS_PER_WEIGHT = Axis("bits_per_weight", "bits per weight", log_scale=False)
SPARSITY = Axis("sparsity", "sparsity", log_scale=False)
OFFERED_LOAD = Axis("offered_load", "offered load", log_scale=False)
# The axes the report draws scaling curves along, in its order (load has its own section).
SCALING_AXES = (N_PARAMS, BITS_PER_WEIGHT, SPARSITY)

# Every backend that takes the shared knobs (all but those that honour only the knobs naming
# them, like llama.cpp, whose weight format is its quant level).
SHARED = frozenset({"*"})
# Weight dtypes and their bits per weight (the report's bits axis for an unquantized model).
DTYPE_BITS = {"float32": 32.0, "bfloat16": 16.0, "float16": 16.0}


@dataclass(frozen=True)
class Knob:
    """One variant knob, declared once: what it does, when, its unit, the report axis it
    moves a variant along and the backends that honour it.

    `load` knobs shape loading, `transform` knobs rewrite the loaded model (apply is called
    with the backend and value and reports typed facts), `runtime` knobs steer dispatch.
    """

    description: str
    stage: Literal["load", "transform", "runtime"]
    check: Callable[[Scalar], str | None] = lambda value: None
    apply: Callable[[Any, Scalar], TransformFacts] | None = None
    order: int = 0  # transforms apply in ascending order
    unit: str | None = None  # of the knob's value; None for names and flags
    axis: Axis | None = None  # the report's scaling axis this knob moves a variant along
    backends: frozenset[str] = SHARED  # backend names that honour it; "*": see SHARED
    backend_checks: Mapping[str, Callable[[Scalar], str | None]] = field(default_factory=dict)

    def honoured_by(self, backend: str, shared: bool) -> bool:
        """Whether `backend` honours this knob; `shared`: it takes the shared knobs."""
        return backend in self.backends or (shared and "*" in self.backends)


# Shared knobs live in harness.variants; engine-specific ones beside their backend.
KNOBS: Registry[Knob] = Registry(
    "variant knob", builtins=("harness.variants.knobs", "harness.backends")
)


Check = Callable[[Scalar], str | None]


def knob(
    name: str,
    description: str,
    stage: Literal["load", "transform", "runtime"],
    *,
    apply: Callable[[Any, Scalar], TransformFacts] | None = None,
    order: int = 0,
    unit: str | None = None,
    axis: Axis | None = None,
    backends: frozenset[str] = SHARED,
    backend_checks: Mapping[str, Check] | None = None,
) -> Callable[[Check], Check]:
    """Declare the knob `name` on its value check: `@knob("layers", ...)` over the function
    that says what is wrong with a value (None when it is fine). See Knob for the fields."""

    def declare(check: Check) -> Check:
        found = Knob(
            description, stage, check, apply, order, unit, axis, backends, backend_checks or {}
        )
        KNOBS.register(name)(found)
        return check

    return declare


def knobs_along(axis: Axis) -> tuple[str, ...]:
    """The knobs that move a variant along `axis`, by name."""
    return tuple(name for name, knob in KNOBS if knob.axis == axis)


def transform_knobs() -> tuple[str, ...]:
    return tuple(name for name, knob in KNOBS if knob.stage == "transform")


def _one_of(*allowed: Scalar) -> Callable[[Scalar], str | None]:
    return lambda v: None if v in allowed else f"expected one of {', '.join(map(str, allowed))}"


def _positive_int(value: Scalar) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return None if ok else "expected a positive integer"


@knob("dtype", "weight and activation dtype", "load", axis=BITS_PER_WEIGHT)
def _dtype(value: Scalar) -> str | None:
    return _one_of(*DTYPE_BITS)(value)


@knob("device", "torch device, e.g. cpu or cuda", "load")
def _device(value: Scalar) -> str | None:
    return None  # torch names the devices it has


@knob("threads", "CPU threads", "load", unit="threads", backends=SHARED | {"llamacpp"})
def _threads(value: Scalar) -> str | None:
    return _positive_int(value)


@knob("batch_size", "requests per forward", "runtime", unit="req")
def _batch_size(value: Scalar) -> str | None:
    return _positive_int(value)


@knob("share_context", "encode a shared context once for all its continuations", "runtime")
def _share_context(value: Scalar) -> str | None:
    return _one_of(True, False)(value)


@knob(
    "max_length",
    "context window in tokens",
    "runtime",
    unit="tokens",
    backends=SHARED | {"llamacpp"},
)
def _max_length(value: Scalar) -> str | None:
    return _positive_int(value)


@knob(
    "batch_tokens",
    "rows x padded width per scoring forward (bounds activations)",
    "runtime",
    unit="tokens",
    backends=frozenset({"hf"}),
)
def _batch_tokens(value: Scalar) -> str | None:
    return _positive_int(value)


@dataclass(frozen=True)
class Variant:
    model: ModelConfig
    knobs: tuple[tuple[str, Scalar], ...]

    @property
    def id(self) -> str:
        """Stable join key across runs: model name plus sorted knobs."""
        if not self.knobs:
            return self.model.name
        return self.model.name + "@" + ",".join(f"{k}={v}" for k, v in self.knobs)

    @property
    def knob_dict(self) -> dict[str, Scalar]:
        return dict(self.knobs)


def _matches(combo: Mapping[str, Scalar], rule: Mapping[str, Scalar]) -> bool:
    return all(combo.get(k) == v for k, v in rule.items())


def _combinations(config: VariantsConfig) -> list[dict[str, Scalar]]:
    names = sorted(config.axes)
    product = [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(config.axes[n] for n in names))
    ]
    if not config.axes and config.include:
        product = []  # an include-only sweep: exactly the listed variants
    kept = [c for c in product if not any(_matches(c, rule) for rule in config.exclude)]
    kept += [dict(extra) for extra in config.include if dict(extra) not in kept]
    return kept


def _check_knobs(combo: Mapping[str, Scalar], where: str) -> None:
    for name, value in combo.items():
        knob = KNOBS.get(name, where=where)
        problem = knob.check(value)
        if problem:
            raise UserError(f"{where}: knob '{name}' = {value!r}: {problem}")


def _check_excludes(config: VariantsConfig, where: str) -> None:
    """An exclude rule naming a knob that is not an axis, or a value the axis does not take,
    would match nothing and exclude nothing, silently."""
    for index, rule in enumerate(config.exclude):
        at = f"{where}: key 'variants.exclude.{index}'"
        for name, value in rule.items():
            if name not in config.axes:
                raise UserError(
                    f"{at}: '{name}' is not an axis of this sweep, so the rule excludes "
                    f"nothing{did_you_mean(name, config.axes)}"
                )
            if value not in config.axes[name]:
                raise UserError(
                    f"{at}: {name} = {value!r} is not among the axis' values "
                    f"({', '.join(map(repr, config.axes[name]))}), so the rule excludes nothing"
                )


def expand_variants(suite: SuiteConfig, where: str) -> list[Variant]:
    """Every (model, knob combination), each validated, in a stable order."""
    variants: list[Variant] = []
    for model in suite.models:
        config = model.variants or suite.variants
        _check_excludes(config, f"{where}: model '{model.name}'")
        for combo in _combinations(config) or [{}]:
            _check_knobs(combo, f"{where}: variants of model '{model.name}'")
            variants.append(Variant(model, tuple(sorted(combo.items()))))
    ids = [v.id for v in variants]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise UserError(f"{where}: variant ids repeat ({', '.join(duplicates)}); rename a model")
    return variants
