"""Prompt templates and seeded k-shot selection shared by the adapters.

Templates substitute `{field}` and `{nested.field}` from a sample's fields and nothing else:
no format-spec mini-language, no attribute access, no evaluation of config strings.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from harness.adapters.base import AdapterOptions
from harness.data.base import Sample
from harness.errors import UserError, did_you_mean

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


@dataclass(frozen=True)
class ShotPicker:
    """k examples per sample, drawn from a separate pool with a seed tied to the sample id."""

    pool: Sequence[Sample]
    k: int
    seed: int

    def pick(self, sample: Sample) -> list[Sample]:
        if self.k == 0:
            return []
        candidates = [s for s in self.pool if s.id != sample.id]
        rng = random.Random(f"{self.seed}:{sample.id}")
        return rng.sample(candidates, min(self.k, len(candidates)))


class PromptOptions(AdapterOptions):
    """`prompt` renders a query, `target` its gold answer (used for shots and scoring)."""

    prompt: str
    target: str
    separator: str = "\n\n"


class GenerationOptions(PromptOptions):
    max_new_tokens: int = Field(default=64, ge=1)
    stop: list[str] = Field(default_factory=lambda: ["\n\n"])
    chat: bool = False  # wrap the prompt in the model's chat template (instruct models)


def build_prompt(options: PromptOptions, shots: ShotPicker, sample: Sample) -> str:
    parts = [
        render(options.prompt, s.fields) + render(options.target, s.fields)
        for s in shots.pick(sample)
    ]
    return options.separator.join([*parts, render(options.prompt, sample.fields)])


def shot_picker(context: Mapping[str, Any]) -> ShotPicker:
    picker = context.get("shots")
    return picker if isinstance(picker, ShotPicker) else ShotPicker([], 0, 0)
