"""Which configurations an invariance audit compares, decided at plan time.

A family is a model entry's name with every entry of that name and every entry naming it as
`reference` (the same weights on another engine). Its base is the configuration KL uses
(the first unmodified variant, else a ladder's top level); every other configuration of the
family is audited against it, per sample. The noise floor is the base run again: the plan
adds the base with `repeat: 2` after it unless the family already has a `repeat` variant.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.run.references import base_of
from harness.suite.schema import SuiteConfig
from harness.variants import Variant

NOISE_FLOOR_REPEAT = 2


def _family(variant: Variant) -> str:
    return variant.model.reference or variant.model.name


def _bases(variants: Sequence[Variant]) -> dict[str, Variant]:
    names = dict.fromkeys(_family(v) for v in variants)
    found = {name: base_of([v for v in variants if v.model.name == name]) for name in names}
    return {name: base for name, base in found.items() if base is not None}


def with_noise_floor(suite: SuiteConfig, variants: Sequence[Variant]) -> list[Variant]:
    """`variants` with each audited family's base repeated once, just after it."""
    audit = suite.invariance
    if not (audit.enabled and audit.noise_floor):
        return list(variants)
    out = list(variants)
    for name, base in _bases(variants).items():
        if any("repeat" in v.knob_dict for v in variants if _family(v) == name):
            continue  # the suite lists its own repeat
        twin = Variant(
            base.model, tuple(sorted({**base.knob_dict, "repeat": NOISE_FLOOR_REPEAT}.items()))
        )
        out.insert(out.index(base) + 1, twin)
    return out


def plan_invariance(suite: SuiteConfig, variants: Sequence[Variant]) -> dict[str, str]:
    """Each audited variant's id -> its family's base id (the base maps to itself); empty
    when the suite does not ask for an audit or a family has a single configuration."""
    if not suite.invariance.enabled:
        return {}
    bases = _bases(variants)
    out: dict[str, str] = {}
    for name, base in bases.items():
        members = [v for v in variants if _family(v) == name]
        if len(members) > 1:
            out.update({v.id: base.id for v in members})
    return out
