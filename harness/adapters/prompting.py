"""Prompt templates and seeded k-shot selection shared by the adapters.

Templates substitute `{field}` and `{nested.field}` from a sample's fields and nothing else:
no format-spec mini-language, no attribute access, no evaluation of config strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from harness.adapters.base import AdapterOptions, ShotPicker
from harness.core.errors import UserError, did_you_mean
from harness.data.base import Sample

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_ .'\-]*)\}")


def lookup(fields: Mapping[str, Any], path: str, raw: bool = False) -> Any:
    """A field by name, or a dotted path into nested mappings; lists join with spaces
    unless `raw`."""
    value: Any = fields
    for part in [path] if path in fields else path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            known = list(value) if isinstance(value, Mapping) else []
            raise UserError(
                f"template field '{path}' is not in the data{did_you_mean(part, known)}"
            )
        value = value[part]
    if isinstance(value, list) and not raw:
        return " ".join(str(v) for v in value)
    return value


def render(template: str, fields: Mapping[str, Any]) -> str:
    return _PLACEHOLDER.sub(lambda m: str(lookup(fields, m.group(1))), template)


class PromptOptions(AdapterOptions):
    """`prompt` renders a query, `target` its gold answer (used for shots and scoring)."""

    prompt: str = Field(description="template with {field} or {nested.field} placeholders")
    target: str = Field(
        description="template of the gold answer: the reference, and each example's answer"
    )
    separator: str = Field(default="\n\n", description="between few-shot examples")


class GenerationOptions(PromptOptions):
    max_new_tokens: int = Field(default=64, ge=1, description="greedy tokens at most")
    stop: list[str] = Field(
        default_factory=lambda: ["\n\n"],
        description="cut the output at the first of these (after its first non-blank character)",
    )
    chat: bool = Field(
        default=False, description="wrap the prompt in the model's chat template (instruct)"
    )


def build_prompt(options: PromptOptions, shots: ShotPicker, sample: Sample) -> str:
    parts = [
        render(options.prompt, s.fields) + render(options.target, s.fields)
        for s in shots.pick(sample)
    ]
    return options.separator.join([*parts, render(options.prompt, sample.fields)])
