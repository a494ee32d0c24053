"""Rolling windows over a token sequence (pure Python, so it is testable without torch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.core.requests import RollingLogLikelihood


@dataclass(frozen=True)
class Window:
    """Model input `seq[start:end]`, whose last `n_scored` predictions are new targets.

    `seq` is the prefix token followed by the text's tokens; position k of the input predicts
    seq[k + 1], so the window predicts seq[start + 1 : end + 1].
    """

    start: int
    end: int
    n_scored: int


def rolling_windows(n_tokens: int, max_length: int, stride: int | None = None) -> list[Window]:
    """Cover targets 1..n_tokens exactly once.

    The first window scores everything it sees; each later one advances by `stride` new
    targets and keeps up to max_length - stride earlier tokens as context. stride ==
    max_length reproduces lm-evaluation-harness's disjoint windows (context of one token).
    """
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    step = max_length if stride is None else min(stride, max_length)
    windows: list[Window] = []
    scored_to = 0
    while scored_to < n_tokens:
        target_end = min(n_tokens, max_length if not windows else scored_to + step)
        start = max(0, target_end - max_length)
        windows.append(Window(start, target_end, target_end - scored_to))
        scored_to = target_end
    return windows


def text_windows(
    req: RollingLogLikelihood, prefix_id: int, encode: Callable[[str], list[int]], context: int
) -> tuple[list[int], list[Window]]:
    """The prefix token and the text's tokens, and the windows covering them: the request's
    window capped at the engine's context. Scoring and the top-k pass share it, so both see
    the same positions with the same context."""
    seq = [prefix_id, *encode(req.text)]
    length = min(req.max_length or context, context)
    return seq, rolling_windows(len(seq) - 1, length, req.stride)
