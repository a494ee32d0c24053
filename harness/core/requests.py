"""Everything a task can ask of a model reduces to four request kinds: three of a language
model (log-likelihoods, rolling log-likelihoods, generation) and one of an encoder (an
embedding)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


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
    # Generate all max_new_tokens whatever the model says (synthetic serving load); the
    # openai backend sends vLLM's `ignore_eos`, other engines stop at EOS as usual.
    ignore_eos: bool = False


@dataclass(frozen=True)
class Embed:
    """One vector for `text` (an encoder's pooled output), for a probe fitted on top."""

    text: str


Request = LogLikelihood | RollingLogLikelihood | Generate | Embed


@dataclass(frozen=True)
class TopTokens:
    """A text's next-token distributions at its scored positions (the same positions, in
    the same windows, as its rolling log-likelihood), each cut to its k most likely tokens:
    what a divergence against another variant of the model needs (harness.metrics.divergence).
    """

    targets: np.ndarray  # int32 [n]: the token each position predicts (the text's own)
    ids: np.ndarray  # int32 [n, k]: the k most likely next tokens, most likely first
    logprobs: np.ndarray  # float32 [n, k]: their log-probabilities over the whole vocabulary


def _require(owner: object, name: str, kind: type) -> None:
    """Fail where a backend builds its answer, not later where a reader finds a hole: a
    missing or mistyped field is a backend bug. (A NaN log-probability is a real outcome of a
    model's numerics, e.g. float16 overflow; the runner reports it naming variant and task.)"""
    value = getattr(owner, name)
    numeric = kind in (Real, Integral)
    if not isinstance(value, kind) or (numeric and isinstance(value, bool)):
        raise TypeError(
            f"{type(owner).__name__}.{name} must be {kind.__name__.lower()}, got {value!r}"
        )


@dataclass(frozen=True)
class LogLikelihoodResponse:
    """The answer to a LogLikelihood request."""

    logprob: float  # log P(continuation | context), summed over the continuation's tokens
    is_greedy: bool  # every continuation token was the model's argmax
    n_tokens: int  # continuation tokens scored
    n_in: int | None = None  # tokens fed as input (context + continuation - 1); None: unknown
    n_computed: int | None = None  # tokens actually run through the model (context sharing)
    n_logits: int | None = None  # positions the output head actually ran on
    retries: int | None = None  # served: attempts beyond the first

    def __post_init__(self) -> None:
        _require(self, "logprob", Real)
        _require(self, "is_greedy", bool)
        _require(self, "n_tokens", Integral)


@dataclass(frozen=True)
class RollingResponse:
    """The answer to a RollingLogLikelihood request."""

    logprob: float  # log P(text), every token scored once
    n_tokens: int  # tokens of the text scored
    n_computed: int | None = None  # tokens run through the model, window overlaps included
    n_logits: int | None = None  # positions the output head ran on; None: every computed one
    retries: int | None = None  # served: attempts beyond the first

    def __post_init__(self) -> None:
        _require(self, "logprob", Real)
        _require(self, "n_tokens", Integral)


@dataclass(frozen=True)
class GenerateResponse:
    """The answer to a Generate request; a failed served request has `error` and empty text."""

    text: str
    n_out: int  # tokens generated
    n_in: int | None = None  # prompt tokens; None where the server does not say
    ttft_s: float | None = None  # time to the first token; None: no token came
    latency_s: float | None = None
    decode_steps: int | None = None  # generation steps its batch ran (the longest member's)
    itl_s: tuple[float, ...] | None = None  # streamed: gaps between tokens, timed on arrival
    retries: int | None = None  # streamed: attempts beyond the first (429, 5xx, lost link)
    error: str | None = None  # the request failed after its retries; text is empty
    n_out_server: int | None = None  # served: completion tokens from the server's usage
    sent_at_s: float | None = None  # served: perf_counter clock when the request was sent

    def __post_init__(self) -> None:
        _require(self, "text", str)
        _require(self, "n_out", Integral)


@dataclass(frozen=True)
class EmbedResponse:
    """The answer to an Embed request."""

    vector: tuple[float, ...]  # the pooled (and, where the model says so, normalized) output
    n_tokens: int  # tokens of the text run through the encoder

    def __post_init__(self) -> None:
        _require(self, "vector", tuple)
        _require(self, "n_tokens", Integral)


Response = LogLikelihoodResponse | RollingResponse | GenerateResponse | EmbedResponse


@dataclass(frozen=True)
class TokenCounts:
    """What one request cost in tokens, the same for every reader (work counters, cost)."""

    inputs: int  # tokens fed as input
    computed: int  # tokens run through the model (a shared context once)
    logits: int  # positions the output head ran on
    out: int  # tokens generated


def token_counts(response: Response) -> TokenCounts:
    """Fields a kind lacks count as the old single Response type counted its unset fields:
    inputs 0; computed = inputs; head positions = computed."""
    if isinstance(response, GenerateResponse):
        inputs, computed, logits, out = response.n_in or 0, None, None, response.n_out
    elif isinstance(response, LogLikelihoodResponse):
        inputs = response.n_in or response.n_tokens or 0
        computed, logits, out = response.n_computed, response.n_logits, 0
    elif isinstance(response, EmbedResponse):  # an encoder runs no output head
        inputs, computed, logits, out = response.n_tokens, None, 0, 0
    else:
        inputs, computed, out = response.n_tokens or 0, response.n_computed, 0
        logits = response.n_logits
    computed = computed if computed is not None else inputs
    return TokenCounts(inputs, computed, logits if logits is not None else computed, out or 0)


def logprobs_of(responses: Sequence[Response]) -> list[float]:
    """The log-likelihoods of scored responses, for adapters that compare them."""
    out = []
    for response in responses:
        if isinstance(response, GenerateResponse | EmbedResponse):
            raise TypeError(f"{type(response).__name__} carries no log-likelihood")
        out.append(float(response.logprob))
    return out


def generated_text(response: Response) -> str:
    if not isinstance(response, GenerateResponse):
        raise TypeError(f"{type(response).__name__} carries no generated text")
    return response.text
