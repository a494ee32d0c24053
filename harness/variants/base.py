"""Knob registry and the expansion of a suite's variant axes into Variants."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from harness.core.errors import UserError, did_you_mean
from harness.core.registry import Registry
from harness.core.values import Scalar
from harness.suite.schema import ModelConfig, SuiteConfig, VariantsConfig


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

# Weight dtypes and their bits per weight (the report's bits axis for an unquantized model).
DTYPE_BITS = {"float32": 32.0, "bfloat16": 16.0, "float16": 16.0}


@dataclass(frozen=True)
class Knob:
    """One variant knob's shared meaning, declared once: what it does, when, its unit and
    the report axis it moves a variant along. Which engines honour it, its value checks and
    its default are each engine's typed options (harness.backends), whose fields are knobs.

    `load` knobs shape loading, `transform` knobs rewrite the loaded model (the engine's
    `apply_transform`, in ascending `order`), `runtime` knobs steer dispatch.
    """

    description: str
    stage: Literal["load", "transform", "runtime"]
    order: int = 0  # transforms apply in ascending order
    unit: str | None = None  # of the knob's value; None for names and flags
    axis: Axis | None = None  # the report's scaling axis this knob moves a variant along


# Shared knobs live here; engine-specific ones beside their engine.
KNOBS: Registry[Knob] = Registry(
    "variant knob", builtins=("harness.variants.knobs", "harness.backends")
)


def knob(
    name: str,
    description: str,
    stage: Literal["load", "transform", "runtime"],
    *,
    order: int = 0,
    unit: str | None = None,
    axis: Axis | None = None,
) -> Knob:
    """Declare the knob `name` (see Knob for the fields)."""
    return KNOBS.register(name)(Knob(description, stage, order, unit, axis))


def knobs_along(axis: Axis) -> tuple[str, ...]:
    """The knobs that move a variant along `axis`, by name."""
    return tuple(name for name, knob in KNOBS if knob.axis == axis)


def transform_knobs() -> tuple[str, ...]:
    return tuple(name for name, knob in KNOBS if knob.stage == "transform")


# dtype knob values that keep a variant the base: none or `auto` (the engine's own choice,
# which the record states), or float32, the full precision a dtype sweep starts from.
BASE_DTYPES: tuple[Scalar | None, ...] = (None, "auto", "float32")


def is_unmodified(knobs: Mapping[str, Scalar]) -> bool:
    """No transform knob and no lowered dtype: the model as its engine loads it by default,
    the base that a model's compression variants are compared with."""
    transforms = transform_knobs()
    return not any(k in knobs for k in transforms) and knobs.get("dtype") in BASE_DTYPES


knob(
    "dtype",
    "weight and activation dtype; auto: the engine's choice (hf: the checkpoint's on a GPU, "
    "float32 on a CPU), stated in the record",
    "load",
    axis=BITS_PER_WEIGHT,
)
knob("device", "torch device, e.g. cpu or cuda (hf default: the accelerator when present)", "load")
knob("threads", "CPU threads", "load", unit="threads")
knob("batch_size", "requests per forward", "runtime", unit="req")
knob(
    "repeat",
    "the same configuration loaded and run again (changes nothing): the noise floor of an "
    "invariance audit",
    "runtime",
)
knob(
    "decode",
    "KV cache and compilation of the decode step: dynamic, static or compiled (hf)",
    "runtime",
)
knob("share_context", "encode a shared context once for all its continuations", "runtime")
knob("max_length", "context window in tokens", "runtime", unit="tokens")
knob(
    "batch_tokens",
    "rows x padded width per scoring forward (bounds activations)",
    "runtime",
    unit="tokens",
)


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
    """Known knob names; their values are checked by each engine's options at plan time."""
    for name in combo:
        KNOBS.get(name, where=where)


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
