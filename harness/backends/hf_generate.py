"""Generation helpers: time-to-first-token clock and stop-sequence truncation."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from transformers import StoppingCriteria


class FirstTokenClock(StoppingCriteria):  # type: ignore[misc]
    """Never stops generation; notes when the first new token exists (end of prefill)."""

    def __init__(self, synchronize: Callable[[], None]) -> None:
        self.synchronize = synchronize
        self.synchronize()
        self.started = time.perf_counter()
        self.first_token_s: float | None = None

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> torch.Tensor:
        if self.first_token_s is None:
            self.synchronize()
            self.first_token_s = time.perf_counter() - self.started
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def cut_at_stop(text: str, stops: tuple[str, ...]) -> str:
    """The text before the earliest stop sequence."""
    cut = len(text)
    for stop in stops:
        found = text.find(stop)
        if found != -1:
            cut = min(cut, found)
    return text[:cut]
