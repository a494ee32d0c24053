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
    """The text before the earliest stop sequence after the first non-blank character, so a
    model that opens with a newline is not cut to nothing by a newline stop."""
    cut = len(text)
    start = len(text) - len(text.lstrip())
    for stop in stops:
        found = text.find(stop, start)
        if found != -1:
            cut = min(cut, found)
    return text[:cut]


class StopOnStrings(StoppingCriteria):  # type: ignore[misc]
    """Marks a row finished once its new text holds a stop string after its first non-blank
    character (transformers' own stop_strings would also stop on a leading newline)."""

    def __init__(self, tokenizer: Any, prompt_width: int, stops: tuple[str, ...]) -> None:
        self.tokenizer = tokenizer
        self.prompt_width = prompt_width
        self.stops = stops
        self.done: torch.Tensor | None = None

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> torch.Tensor:
        if self.done is None:
            self.done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        if not self.stops:
            return self.done
        new = input_ids[:, self.prompt_width :].tolist()
        for row, tokens in enumerate(new):
            if not bool(self.done[row]):
                text = self.tokenizer.decode(tokens, skip_special_tokens=True)
                if cut_at_stop(text, self.stops) != text:
                    self.done[row] = True
        return self.done.clone()
