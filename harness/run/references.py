"""Which unit each compression variant's token distributions are compared with, decided at
plan time, and an order of variants that runs every reference before the units that need it.

On a perplexity task, a model entry's variants are compared with its base: the unmodified
variant (no transform, float32 or the source's dtype), else, on a llama.cpp ladder where every
variant is a quantization level, the level with the most bits. Entries of one name (a one-knob
sweep beside the model's own entry) share a base. An entry that names a `reference` compares
all its variants, its base included, with that entry's base instead: a teacher for a student,
or the same weights on another engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.backends import BACKENDS
from harness.core.errors import UserError, did_you_mean
from harness.core.requests import RollingLogLikelihood
from harness.suite.schema import SuiteConfig
from harness.variants import Variant
from harness.variants.base import is_unmodified

UnitKey = tuple[str, str]  # (variant id, task name), as Record.unit_key


@dataclass(frozen=True)
class DivergencePlan:
    """reference_of: candidate unit -> its reference unit; top_k per position."""

    top_k: int = 64
    reference_of: dict[UnitKey, UnitKey] = field(default_factory=dict)

    @property
    def references(self) -> set[UnitKey]:
        return set(self.reference_of.values())

    def keeps_top_tokens(self, unit: UnitKey) -> bool:
        return unit in self.reference_of or unit in self.references


def base_of(members: Sequence[Variant]) -> Variant | None:
    plain = [v for v in members if is_unmodified(v.knob_dict)]
    if plain:
        return plain[0]
    # Members share a model entry's name, hence its engine.
    ladder = BACKENDS.get(members[0].model.backend).quant_levels if members else ()
    levels = [v for v in members if v.knob_dict.get("quant") in ladder]
    if len(members) > 1 and len(levels) == len(members):
        return min(levels, key=lambda v: ladder.index(str(v.knob_dict["quant"])))
    return None


def plan_divergence(
    suite: SuiteConfig,
    units: Sequence[tuple[Variant, Sequence[tuple[str, frozenset[type]]]]],
    where: str,
) -> DivergencePlan:
    """`units`: each variant with its tasks' (name, request kinds); `where`: the suite file."""
    _check_references(suite, where)
    if not suite.kl.enabled:
        return DivergencePlan(suite.kl.top_k)
    reference_of: dict[UnitKey, UnitKey] = {}
    tasks = {name for _, named in units for name, kinds in named if kinds == {RollingLogLikelihood}}
    for task in sorted(tasks):
        on_task = [v for v, named in units if task in {name for name, _ in named}]
        bases = {
            name: base_of([v for v in on_task if v.model.name == name]) for name in _names(on_task)
        }
        for variant in on_task:
            named = variant.model.reference
            base = bases.get(named) if named else bases[variant.model.name]
            if base is None or base is variant or (not named and is_unmodified(variant.knob_dict)):
                continue
            reference_of[(variant.id, task)] = (base.id, task)
    return DivergencePlan(suite.kl.top_k, reference_of)


def _names(variants: Sequence[Variant]) -> list[str]:
    return list(dict.fromkeys(v.model.name for v in variants))


def _check_references(suite: SuiteConfig, where: str) -> None:
    names = {m.name for m in suite.models}
    named = {m.name: m.reference for m in suite.models}
    for index, model in enumerate(suite.models):
        key = f"{where}: key 'models.{index}.reference'"
        if model.reference is None:
            continue
        if model.reference not in names:
            raise UserError(
                f"{key}: '{model.reference}' is not a model entry of the suite"
                f"{did_you_mean(model.reference, names)}"
            )
        if model.reference == model.name:
            raise UserError(
                f"{key}: model entry '{model.name}' names itself; its compression variants "
                "are compared with its own base without a reference"
            )
        if named[model.reference] is not None:
            raise UserError(
                f"{key}: '{model.reference}' names a reference of its own; a reference "
                "must be a model compared with nothing (no chains or cycles)"
            )


def reference_order(variants: Sequence[Variant], found: DivergencePlan) -> list[Variant]:
    """The variants in suite order, except that a reference variant moves up to just before
    the first variant that needs it (the local executor runs variants in this order)."""
    by_id = {v.id: v for v in variants}
    needs: dict[str, list[str]] = {}
    for (candidate, _), (reference, _) in found.reference_of.items():
        needs.setdefault(candidate, []).append(reference)
    out: list[Variant] = []
    placed: set[str] = set()
    for variant in variants:
        for reference in needs.get(variant.id, []):
            if reference not in placed and reference != variant.id:
                out.append(by_id[reference])
                placed.add(reference)
        if variant.id not in placed:
            out.append(variant)
            placed.add(variant.id)
    return out
