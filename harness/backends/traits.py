"""What a backend honours and needs, checked when a suite is planned, before anything runs.

A backend that declares no traits honours every knob (the transformers backend, which the
knobs were written for). A backend that declares `knobs` rejects every other knob with a
clear error instead of silently ignoring it (e.g. `dtype` on llama.cpp, whose weight format
is the `quant` level); `knob_checks` validate values per backend (a quant level one engine
has and the other lacks); `requires` says why the backend cannot load here (a missing extra).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from harness.backends.base import BACKENDS
from harness.errors import UserError, close_match
from harness.values import Scalar

if TYPE_CHECKING:
    from harness.variants.base import Variant

F = TypeVar("F")


@dataclass(frozen=True)
class BackendTraits:
    knobs: frozenset[str] | None = None  # None: every registered knob but `foreign`
    foreign: frozenset[str] = frozenset()  # knobs of other engines, rejected here
    knob_checks: Mapping[str, Callable[[Scalar], str | None]] = field(default_factory=dict)
    requires: Callable[[], str | None] | None = None  # None, or why it cannot load here


def with_traits(traits: BackendTraits) -> Callable[[F], F]:
    """Attach traits to a backend factory, stacked under its `@BACKENDS.register`."""

    def attach(factory: F) -> F:
        setattr(factory, "limitbench_traits", traits)  # noqa: B010  the factory is a function
        return factory

    return attach


def traits_of(backend: str) -> BackendTraits:
    found = getattr(BACKENDS.get(backend), "limitbench_traits", None)
    return found if isinstance(found, BackendTraits) else BackendTraits()


def check_variants(variants: Sequence[Variant], where: str) -> None:
    """Every variant's knobs are honoured by its backend, and the backend can load here."""
    for variant in variants:
        backend = variant.model.backend
        traits = traits_of(backend)
        prefix = f"{where}: model '{variant.model.name}' (backend '{backend}')"
        if traits.requires is not None and (reason := traits.requires()) is not None:
            raise UserError(f"{prefix}: {reason}")
        for name, value in variant.knobs:
            if name in traits.foreign:
                raise UserError(
                    f"{prefix}: knob '{name}' is another engine's and not honoured here"
                )
            if traits.knobs is not None and name not in traits.knobs:
                match = close_match(name, traits.knobs)
                raise UserError(
                    f"{prefix}: knob '{name}' is not honoured by this backend, which honours "
                    f"{', '.join(sorted(traits.knobs))}"
                    + (f" (did you mean '{match}'?)" if match else "")
                )
            check = traits.knob_checks.get(name)
            problem = check(value) if check is not None else None
            if problem:
                raise UserError(f"{prefix}: knob '{name}' = {value!r}: {problem}")
