"""What a backend honours and needs, checked when a suite is planned, before anything runs.

Which backends honour a knob is declared with the knob (`Knob.backends`, harness.variants):
most knobs are shared (honoured by every backend that takes shared knobs, e.g. the
transformers backend they were written for), some name their engines (`n_ctx`: llamacpp;
`concurrency`: openai). A backend that sets `shared_knobs=False` honours only the knobs that
name it, and rejects the rest with a clear error instead of silently ignoring them (e.g.
`dtype` on llama.cpp, whose weight format is the `quant` level). `requires` says why the
backend cannot load here (a missing extra).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from harness.backends.base import BACKENDS
from harness.errors import UserError, close_match

if TYPE_CHECKING:
    from harness.variants.base import Variant

F = TypeVar("F")


@dataclass(frozen=True)
class BackendTraits:
    shared_knobs: bool = True  # False: only the knobs whose declaration names this backend
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


def honoured_knobs(backend: str) -> list[str]:
    from harness.variants import KNOBS

    shared = traits_of(backend).shared_knobs
    return [name for name, knob in KNOBS if knob.honoured_by(backend, shared)]


def check_variants(variants: Sequence[Variant], where: str) -> None:
    """Every variant's knobs are honoured by its backend, and the backend can load here."""
    from harness.variants import KNOBS

    for variant in variants:
        backend = variant.model.backend
        traits = traits_of(backend)
        prefix = f"{where}: model '{variant.model.name}' (backend '{backend}')"
        if traits.requires is not None and (reason := traits.requires()) is not None:
            raise UserError(f"{prefix}: {reason}")
        for name, value in variant.knobs:
            knob = KNOBS.get(name)
            if not knob.honoured_by(backend, traits.shared_knobs):
                raise UserError(f"{prefix}: {_not_honoured(name, backend, traits.shared_knobs)}")
            check = knob.backend_checks.get(backend)
            problem = check(value) if check is not None else None
            if problem:
                raise UserError(f"{prefix}: knob '{name}' = {value!r}: {problem}")


def _not_honoured(name: str, backend: str, shared: bool) -> str:
    if shared:
        return f"knob '{name}' is another engine's and not honoured here"
    honoured = honoured_knobs(backend)
    match = close_match(name, honoured)
    return (
        f"knob '{name}' is not honoured by this backend, which honours "
        f"{', '.join(sorted(honoured))}" + (f" (did you mean '{match}'?)" if match else "")
    )
