"""Perplexity over a corpus: token, word and byte level, and bits per byte.

All four are corpus ratios (total log-likelihood over total units), as in
lm-evaluation-harness, so a long document weighs by its length rather than counting once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import ClassVar

from pydantic import Field, JsonValue

from harness.adapters.base import ADAPTERS, AdapterContext, AdapterOptions
from harness.core.requests import Request, Response, RollingLogLikelihood, RollingResponse
from harness.data.base import Sample
from harness.metrics import Metric, corpus_metric
from harness.metrics.reducers import RatioOf


class PerplexityOptions(AdapterOptions):
    text_field: str = Field(default="text", description="the field holding the text to score")
    max_length: int | None = Field(
        default=None, ge=2, description="rolling window in tokens [the model's context]"
    )
    stride: int | None = Field(
        default=None, ge=1, description="new tokens scored per window [max_length]"
    )


def _rolling(responses: Sequence[Response]) -> RollingResponse:
    (response,) = responses
    if not isinstance(response, RollingResponse):
        raise TypeError(f"perplexity expects a rolling log-likelihood, got {response!r}")
    return response


def _perplexity(units: str) -> RatioOf:
    return RatioOf(numerator="logprob", denominator=units, exponentiate=True)


def count_words(text: str) -> int:
    """Whitespace-separated words, as lm-evaluation-harness counts them."""
    return len(re.split(r"\s+", text.strip())) if text.strip() else 0


@ADAPTERS.register("perplexity")
class PerplexityAdapter:
    """Rolling log-likelihood of each text, every token scored once (token, word and byte
    perplexity, bits per byte)."""

    Options: ClassVar[type[AdapterOptions]] = PerplexityOptions
    uses_fewshot: ClassVar[bool] = False  # a text's likelihood has no examples to prepend

    metrics: tuple[Metric, ...] = (
        corpus_metric("token_perplexity", "ppl", False, _perplexity("n_tokens")),
        corpus_metric("word_perplexity", "ppl", False, _perplexity("n_words")),
        corpus_metric("byte_perplexity", "ppl", False, _perplexity("n_bytes")),
        corpus_metric(
            "bits_per_byte",
            "bits/byte",
            False,
            RatioOf(numerator="logprob", denominator="n_bytes", scale=1 / math.log(2)),
        ),
    )

    def __init__(self, options: PerplexityOptions, context: AdapterContext) -> None:
        self.options = options
        stride = "max_length (disjoint windows)" if options.stride is None else options.stride
        self.conventions = {
            "perplexity": "every token scored once; first conditioned on BOS (or EOS if none)",
            "windows": f"max_length={options.max_length or 'model context'}, stride={stride}",
            "words": "whitespace split of the scored text",
            "bytes": "UTF-8 bytes of the scored text",
        }

    def requests(self, sample: Sample) -> Sequence[Request]:
        text = str(sample.fields[self.options.text_field])
        return [RollingLogLikelihood(text, self.options.max_length, self.options.stride)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, float]:
        text = str(sample.fields[self.options.text_field])
        response = _rolling(responses)
        return {
            "logprob": response.logprob,
            "n_tokens": float(response.n_tokens),
            "n_words": float(count_words(text)),
            "n_bytes": float(len(text.encode("utf-8"))),
        }

    def output(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, JsonValue]:
        return {"n_tokens": _rolling(responses).n_tokens}
