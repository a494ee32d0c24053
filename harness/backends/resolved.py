"""The configuration that ran, as a record states it: every option after defaults and `auto`
were resolved, what the engine itself reports, and the library versions it ran on.

A record's knobs are what the suite wrote; this is what they became. Readers (the report's
bits axis, the base variant) take the dtype and device from here, so no reader restates an
engine's default. Each engine fills its own through `Backend.resolved()`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field

from harness.core.values import Scalar


class ResolvedConfig(BaseModel):
    """What ran, after every default and `auto` was decided."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dtype: str | None = Field(
        description="the weights' dtype as the engine ran them (float32, bfloat16, float16; "
        "a GGUF type for llama.cpp); None: the engine does not say (see `unknown`)"
    )
    device: str = Field(description="where the work ran (cpu, cuda:0, mps, a server's URL)")
    options: dict[str, Scalar] = Field(
        default_factory=dict,
        description="every option of the engine, by knob name, after defaults and `auto` "
        "were resolved (an option left unset, such as a transform not applied, is absent); "
        "an option the engine cannot read back is in `unknown` instead",
    )
    reported: dict[str, Scalar] = Field(
        default_factory=dict,
        description="what the engine itself reports about how it runs (vLLM's scheduler "
        "limits, llama.cpp's context, a server's model list)",
    )
    unknown: dict[str, str] = Field(
        default_factory=dict, description="option or fact -> why it could not be read"
    )
    libraries: dict[str, str] = Field(
        default_factory=dict,
        description="versions of the libraries the engine ran on (those it imported)",
    )


def imported_versions(modules: Iterable[str]) -> dict[str, str]:
    """The versions of those of `modules` this process has imported: the libraries that ran,
    not the ones that happen to be installed (the manifest's fingerprint lists those)."""
    out: dict[str, str] = {}
    for name in modules:
        module = sys.modules.get(name)
        version = getattr(module, "__version__", None) if module is not None else None
        if version is not None:
            out[name] = str(version)
    return out


def known(values: Mapping[str, Scalar | None]) -> dict[str, Scalar]:
    """The entries that have a value (an engine's None means "the library decides", and a
    transform left unset was not applied)."""
    return {k: v for k, v in values.items() if v is not None}
