"""What an engine honours, checked when a suite is planned, before anything runs.

Each engine declares a typed options model (`EngineOptions`, `extra="forbid"`): its fields
are the knobs it honours, with their value checks and defaults. A suite's variant knobs are
validated against the model entry's engine; a knob it does not honour is refused with the
file, the key, a close match and what that engine honours, instead of being silently
ignored (which would give identical runs distinct variant ids). Shared field types live
here so a knob that several engines honour means the same thing in each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, ValidationError

from harness.backends.base import BACKENDS, Engine
from harness.core.errors import UserError, close_match
from harness.core.values import Scalar

if TYPE_CHECKING:
    from harness.variants.base import Variant

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveNumber = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]
Dtype = Literal["float32", "bfloat16", "float16"]
# `auto`: the engine picks (the transformers engine: the checkpoint's dtype on an
# accelerator, float32 on a CPU); the record states what it picked.
DtypeOrAuto = Literal["auto", "float32", "bfloat16", "float16"]


def honoured_knobs(backend: str) -> list[str]:
    honoured: list[str] = BACKENDS.get(backend).options.honoured()
    return honoured


def engines_honouring(knob: str) -> list[str]:
    """The engines whose options declare `knob` (for `limitbench list`)."""
    return [name for name, engine in BACKENDS if knob in engine.options.model_fields]


def parse_options(engine: Engine[Any], knobs: Mapping[str, Scalar], where: str) -> Any:
    """`knobs` as the engine's options, or one clear error naming the knob."""
    try:
        return engine.options.model_validate(dict(knobs))
    except ValidationError as err:
        raise UserError(f"{where}: {_first_problem(engine, knobs, err)}") from None


def _first_problem(engine: Engine[Any], knobs: Mapping[str, Scalar], err: ValidationError) -> str:
    problem = err.errors()[0]
    name = str(problem["loc"][0]) if problem["loc"] else ""
    if problem["type"] == "extra_forbidden":
        honoured = engine.options.honoured()
        match = close_match(name, honoured)
        return (
            f"knob '{name}' is not honoured by this backend, which honours "
            f"{', '.join(honoured) or 'no knobs'}"
            + (f" (did you mean '{match}'?)" if match else "")
        )
    message = str(problem["msg"]).removeprefix("Value error, ")
    return f"knob '{name}' = {knobs.get(name)!r}: {message}"


def check_variants(variants: Sequence[Variant], where: str) -> None:
    """Every variant's knobs are honoured by its engine, and the engine can load here."""
    for variant in variants:
        backend = variant.model.backend
        engine = BACKENDS.get(backend)
        prefix = f"{where}: model '{variant.model.name}' (backend '{backend}')"
        if (reason := engine.requires()) is not None:
            raise UserError(f"{prefix}: {reason}")
        parse_options(engine, variant.knob_dict, prefix)
