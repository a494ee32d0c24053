"""Everything a task can ask of a model reduces to three request kinds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LogLikelihood:
    """log P(continuation | context), summed over the continuation's tokens."""

    context: str
    continuation: str


@dataclass(frozen=True)
class RollingLogLikelihood:
    """log P(text), every token scored exactly once (lm-evaluation-harness convention)."""

    text: str
    max_length: int | None = None  # window size; None = the model's context
    stride: int | None = None  # new tokens scored per window; None = max_length


@dataclass(frozen=True)
class Generate:
    """Greedy continuation of `prompt`, cut at the first stop sequence."""

    prompt: str
    max_new_tokens: int = 64
    stop: tuple[str, ...] = ()
    chat: bool = False  # wrap in the model's chat template as one user turn


Request = LogLikelihood | RollingLogLikelihood | Generate


@dataclass(frozen=True)
class Response:
    """A backend's answer. Fields that do not apply to the request kind stay None."""

    logprob: float | None = None
    is_greedy: bool | None = None
    n_tokens: int | None = None
    text: str | None = None
    n_in: int | None = None
    n_out: int | None = None
    ttft_s: float | None = None
    latency_s: float | None = None
    decode_steps: int | None = None  # generation steps its batch ran (the longest member's)
    n_computed: int | None = None  # tokens actually run through the model (context sharing)
    n_logits: int | None = None  # positions the output head actually ran on
    itl_s: tuple[float, ...] | None = None  # streamed: gaps between tokens, timed on arrival
    retries: int | None = None  # streamed: attempts beyond the first (429, 5xx, lost link)
    error: str | None = None  # the request failed after its retries; text is empty
