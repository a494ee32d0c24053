"""The base of every validated config model: suites, tasks, gate rules, engine options' peers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are refused (a misspelt key is an error, not a silent default) and a
    validated config is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
