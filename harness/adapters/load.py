"""Synthetic serving load: real prompts cut to a fixed length, output lengths fixed or drawn
from a distribution, generated to that length whatever the model would say.

Serving benchmarks (guidellm, AIPerf, `vllm bench serve`) measure a server under a workload
whose input and output lengths are controlled, not under whatever a task's answers happen
to be. Here the prompts are a real corpus's text (so the tokenizer sees real words), the
number of output tokens per request is seeded per sample, and the request asks the server
to ignore end-of-sequence (`ignore_eos`, a vLLM extension of the OpenAI API) so every answer
runs to its drawn length. The one score says whether it did: `requested_length_met`, the
share of requests that produced their full length (an engine or server that stops at EOS
anyway shows it there, not as a silently shorter workload).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

from pydantic import Field, JsonValue, model_validator

from harness.adapters.base import ADAPTERS, AdapterContext, AdapterOptions
from harness.adapters.prompting import render
from harness.core.requests import Generate, GenerateResponse, Request, Response
from harness.data.base import Sample
from harness.metrics import Metric, mean_metric


class OutputLengths(AdapterOptions):
    """Output tokens per request: `fixed` at `mean`, `uniform` in [min, max], or `normal`
    around `mean` with `std`, clipped to [min, max]."""

    distribution: Literal["fixed", "uniform", "normal"] = "fixed"
    mean: int = Field(default=128, ge=1)
    std: float = Field(default=0.0, ge=0)
    min: int = Field(default=1, ge=1)
    max: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _bounds(self) -> OutputLengths:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        if self.distribution == "uniform" and self.max is None:
            raise ValueError("a uniform distribution needs 'max'")
        return self

    def draw(self, rng: random.Random) -> int:
        top = self.max if self.max is not None else max(self.mean * 4, self.min)
        if self.distribution == "fixed":
            return self.mean
        if self.distribution == "uniform":
            return rng.randint(self.min, top)
        return max(self.min, min(top, round(rng.gauss(self.mean, self.std))))


class LoadOptions(AdapterOptions):
    prompt: str = Field(description="template of the prompt, e.g. '{text}'")
    prompt_words: int | None = Field(
        default=None, ge=1, description="cut each prompt to its first N words (fixed input)"
    )
    output_tokens: OutputLengths = Field(default_factory=OutputLengths)
    chat: bool = False


@ADAPTERS.register("synthetic_load")
class SyntheticLoadAdapter:
    Options: ClassVar[type[AdapterOptions]] = LoadOptions
    uses_fewshot: ClassVar[bool] = False
    metrics: tuple[Metric, ...] = (mean_metric("requested_length_met", "fraction", True),)

    def __init__(self, options: LoadOptions, context: AdapterContext) -> None:
        self.options = options
        self.seed = context.seed
        lengths = options.output_tokens
        self.conventions = {
            "workload": "synthetic load: real prompts"
            + (f" cut to {options.prompt_words} words" if options.prompt_words else "")
            + f"; output tokens {lengths.distribution} (mean {lengths.mean}), seeded per "
            "sample; ignore_eos asks the server to generate the full length"
        }

    def requested(self, sample: Sample) -> int:
        return self.options.output_tokens.draw(random.Random(f"{self.seed}:{sample.id}"))

    def requests(self, sample: Sample) -> Sequence[Request]:
        prompt = render(self.options.prompt, sample.fields)
        if self.options.prompt_words is not None:
            prompt = " ".join(prompt.split()[: self.options.prompt_words])
        wanted = self.requested(sample)
        return [Generate(prompt, wanted, (), self.options.chat, ignore_eos=True)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, float]:
        got = responses[0]
        n_out = got.n_out if isinstance(got, GenerateResponse) else 0
        return {"requested_length_met": float(n_out >= self.requested(sample))}

    def output(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, JsonValue]:
        got = responses[0]
        n_out = got.n_out if isinstance(got, GenerateResponse) else 0
        return {"requested_tokens": self.requested(sample), "output_tokens": n_out}
