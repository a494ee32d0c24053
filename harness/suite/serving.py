"""Validated suite keys for served models: the server block, the minimum each load level
runs, and the SLO search."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from harness.core.values import Scalar
from harness.suite.base import StrictModel


class ServerConfig(StrictModel):
    """An OpenAI-compatible server (backend `openai`). `command`, when given, launches it: its
    `{port}`, `{source}` and `{python}` placeholders become a free port on 127.0.0.1, the
    resolved model source and this interpreter; `{model_dir}` the source as a transformers
    folder (a GGUF is dequantized once into the cache, as the hf engine loads it), and
    `{env:vllm}` the interpreter of limitbench's separate vLLM environment
    (`limitbench setup vllm`). `url` then defaults to that server. One launched server
    serves every load level of its model entry in turn."""

    url: str | None = None  # e.g. http://127.0.0.1:8080/v1
    model: str  # the served model name sent in every request
    api_key_env: str | None = None  # NAME of the variable holding the key, never the key
    chat: bool = False  # generation through /v1/chat/completions
    command: list[str] | None = None
    # Environment variables for the launched command, e.g. {VLLM_CPU_KVCACHE_SPACE: "2"}.
    env: dict[str, str] = Field(default_factory=dict)
    startup_timeout_s: float = Field(default=120.0, gt=0)
    timeout_s: float = Field(default=120.0, gt=0)  # per request
    max_retries: int = Field(default=3, ge=0)  # on 429 and 5xx, with exponential backoff
    arrival_seed: int = 0  # seed of the Poisson arrivals under `request_rate`
    # Extra fields for every request body, e.g. {repeat_penalty: 1.0}: llama-cpp-python's
    # server otherwise applies its default 1.1 even at temperature 0, which is not greedy.
    params: dict[str, Scalar] = Field(default_factory=dict)
    # The client-side tokenizer counting what the server sent (a transformers folder or hub
    # id); None: the model's own folder or GGUF file when it lies on disk.
    tokenizer: str | None = None
    # Empty the server's prefix cache before each measured window (vLLM's dev route
    # POST /reset_prefix_cache, offered with VLLM_SERVER_DEV_MODE=1), so a load level does
    # not inherit the warm cache of the one before; the hit rate is recorded either way.
    reset_prefix_cache: bool = True


class LoadLevelConfig(StrictModel):
    """What one load level of a served model measures at least. The level's measured window
    keeps issuing the task's generation requests (cycling them, in order, at the level's
    concurrency or arrival rate) until it has answered `min_requests` and run
    `min_duration_s`; quality is scored once, on the first answer to each distinct sample.
    A p99 needs about 100 requests to have one beyond it, and a distribution-free 95% interval
    of it 299; the record says when a level had fewer. Each timed window of a level (see
    `timing.min_repeats`) meets both minimums."""

    # Requests answered per window, counting the first pass over the samples.
    min_requests: int = Field(default=100, ge=1)
    # Seconds of load per window: enough for a server's batching to settle.
    min_duration_s: float = Field(default=60.0, ge=0)


class SLOSearchConfig(StrictModel):
    """Search for the highest load level meeting the suite's `slo:` on a served model.

    From `start`, the level grows by `factor` while it passes, up to `max`; between the last
    passing and the first failing level it then bisects until the two are `resolution`
    apart. A level passes when every task's SLO attainment meets the SLO's `attainment`,
    judged on the attainment's 95% Wilson lower bound (`judge: lower_bound`, the default:
    a pass is one the data supports) or on its point estimate (`judge: point`). Growth also
    stops at saturation: when a level's steady-state output throughput is less than
    `saturation_gain` above the level before it, more load only adds queueing.
    """

    knob: Literal["concurrency", "request_rate"] = "concurrency"
    start: float = Field(default=1, gt=0)
    max: float = Field(default=64, gt=0)
    factor: float = Field(default=2, gt=1)
    resolution: float = Field(default=1, gt=0)
    judge: Literal["lower_bound", "point"] = "lower_bound"
    saturation_gain: float = Field(default=0.05, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> SLOSearchConfig:
        if self.start > self.max:
            raise ValueError(f"start ({self.start:g}) is above max ({self.max:g})")
        if self.knob == "concurrency" and not (self.start.is_integer() and self.max.is_integer()):
            raise ValueError("a concurrency search needs whole-number start and max")
        return self
