"""The configuration a unit ran with, as its engine states it after loading.

A suite writes only the knobs it sweeps; the engine fills the rest from its defaults and
resolves `auto` values (a device probed, a dtype read from the checkpoint, a batch size
probed, a scheduler limit its library chose). The record keeps that resolved configuration,
so no reader restates an engine's default: a reader asks the record, and only a record
written before this field existed falls back to the defaults of its time. Engines fill it
through `Backend.resolved()` (harness.backends.resolved has their helpers).
"""

from __future__ import annotations

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
