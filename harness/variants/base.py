"""Knob registry and the expansion of a suite's variant axes into Variants."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from harness.config import ModelConfig, SuiteConfig, VariantsConfig
from harness.errors import UserError
from harness.registry import Registry
from harness.values import Scalar
from harness.variants.facts import TransformFacts


@dataclass(frozen=True)
class Knob:
    """One variant axis. `load` knobs shape loading, `transform` knobs rewrite the loaded
    model (apply is called with the model and value), `runtime` knobs steer dispatch."""

    description: str
    stage: Literal["load", "transform", "runtime"]
    check: Callable[[Scalar], str | None] = lambda value: None
    apply: Callable[[Any, Scalar], TransformFacts] | None = None
    order: int = 0  # transforms apply in ascending order


KNOBS: Registry[Knob] = Registry("variant knob")


def _one_of(*allowed: Scalar) -> Callable[[Scalar], str | None]:
    return lambda v: None if v in allowed else f"expected one of {', '.join(map(str, allowed))}"


def _positive_int(value: Scalar) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return None if ok else "expected a positive integer"


KNOBS.register("dtype")(
    Knob("weight and activation dtype", "load", _one_of("float32", "bfloat16", "float16"))
)
KNOBS.register("device")(Knob("torch device, e.g. cpu or cuda", "load"))
KNOBS.register("threads")(Knob("CPU threads for torch", "load", _positive_int))
KNOBS.register("batch_size")(Knob("requests per forward", "runtime", _positive_int))
KNOBS.register("share_context")(
    Knob("encode a shared context once for all its continuations", "runtime", _one_of(True, False))
)
KNOBS.register("max_length")(Knob("context window in tokens", "runtime", _positive_int))


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
        try:
            knob = KNOBS.get(name)
        except UserError as err:
            raise UserError(f"{where}: {err}") from None
        problem = knob.check(value)
        if problem:
            raise UserError(f"{where}: knob '{name}' = {value!r}: {problem}")


def expand_variants(suite: SuiteConfig, where: str) -> list[Variant]:
    """Every (model, knob combination), each validated, in a stable order."""
    variants: list[Variant] = []
    for model in suite.models:
        config = model.variants or suite.variants
        for combo in _combinations(config) or [{}]:
            _check_knobs(combo, f"{where}: variants of model '{model.name}'")
            variants.append(Variant(model, tuple(sorted(combo.items()))))
    ids = [v.id for v in variants]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise UserError(f"{where}: variant ids repeat ({', '.join(duplicates)}); rename a model")
    return variants
