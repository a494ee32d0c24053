"""An adapter's options as rows a person reads (`limitbench list --adapter NAME`).

The descriptions are the options models' own `Field(description=...)`, so the help cannot
drift from what a task file is validated against.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel
from pydantic_core import PydanticUndefined


@dataclass(frozen=True)
class OptionRow:
    name: str
    type: str
    default: str  # "required" when the task must give it
    description: str


def _type_name(annotation: object) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    return text or str(annotation).replace("typing.", "")


def option_rows(options: type[BaseModel]) -> list[OptionRow]:
    rows = []
    for name, info in options.model_fields.items():
        if info.default is PydanticUndefined and info.default_factory is None:
            default = "required"
        elif info.default_factory is not None:
            default = repr(info.default_factory())  # type: ignore[call-arg]
        else:
            default = repr(info.default)
        rows.append(OptionRow(name, _type_name(info.annotation), default, info.description or ""))
    return rows
