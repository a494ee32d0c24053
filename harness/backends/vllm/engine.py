"""What the vllm backend reads from vLLM's objects: its progress hook, the weights its
workers hold and each request's own timestamps. Every vLLM object is typed Any here, so
limitbench type-checks and imports without vLLM installed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from harness.backends.base import Progress


class Ticks:
    """Stands in for the tqdm bar `LLM.generate(use_tqdm=...)` builds: vLLM calls update(n)
    as requests finish, which is the runner's progress callback; nothing is drawn (the
    runner's own bar is the one that counts). It reads only these members."""

    def __init__(self, progress: Progress, **_: Any) -> None:
        self.progress = progress
        self.n = 0
        self.postfix = ""
        self.started = time.perf_counter()

    @property
    def format_dict(self) -> dict[str, float]:
        return {"elapsed": max(time.perf_counter() - self.started, 1e-9)}

    def update(self, n: int = 1) -> None:
        self.n += n
        self.progress(n)

    def refresh(self) -> None:
        return None

    def close(self) -> None:
        return None


def use_tqdm(progress: Progress | None) -> Any:
    """The `use_tqdm` argument of LLM.generate: our progress hook, or no bar at all. vLLM
    also wraps the prompts it renders in a bar (`bar(prompts, desc=...)`); rendering
    finishes no request, so those get their iterable back, uncounted."""
    if progress is None:
        return False

    def bar(*iterable: Any, **kwargs: Any) -> Any:
        return iterable[0] if iterable else Ticks(progress, **kwargs)

    return bar


@dataclass(frozen=True)
class Weights:
    """What one worker holds. Counts are logical (a packed or sharded Linear counts its full
    input x output shape), so they do not depend on quantization or tensor parallelism;
    bytes are what the worker really holds."""

    n_params: int
    weight_bytes: int
    linear_params: int  # Linear weights a token runs through (vLLM's output head is not one)


def weights_of(model: Any) -> Weights:
    """Run by `LLM.apply_model` in each worker (top level, so vLLM can pickle it for a
    multi-process tensor-parallel executor). Under tensor parallelism the logical shapes
    are rank 0's view of the whole layer, and bytes are summed over ranks by the caller."""
    from vllm.model_executor.layers.linear import LinearBase
    from vllm.model_executor.layers.vocab_parallel_embedding import VocabParallelEmbedding

    seen: set[int] = set()
    n_params = weight_bytes = linear = 0
    for module in model.modules():
        own = [p for p in module.parameters(recurse=False) if id(p) not in seen]
        seen.update(id(p) for p in own)
        weight_bytes += sum(p.numel() * p.element_size() for p in own)
        if isinstance(module, LinearBase):
            shape = int(module.input_size) * int(module.output_size)
            linear += shape
            weight = getattr(module, "weight", None)
            if weight is not None and weight.numel() == 0:
                # On a CPU vLLM moves each Linear's weight into a prepacked oneDNN (or sgl)
                # copy of the same dtype and leaves an empty parameter: count that copy.
                rows = getattr(module, "output_size_per_partition", module.output_size)
                cols = getattr(module, "input_size_per_partition", module.input_size)
                weight_bytes += int(rows) * int(cols) * weight.element_size()
            bias = getattr(module, "bias", None)
            n_params += shape + (int(module.output_size) if bias is not None else 0)
        elif isinstance(module, VocabParallelEmbedding) and own:
            # vLLM pads the vocabulary (to a multiple of 64) and shards it; count the real one.
            rows = int(module.org_vocab_size) + int(module.num_added_embeddings)
            n_params += rows * int(own[0].shape[-1])
        else:
            n_params += sum(p.numel() for p in own)
    return Weights(n_params, weight_bytes, linear)


@dataclass(frozen=True)
class RequestTimes:
    ttft_s: float
    latency_s: float
    steps: int


def request_times(metrics: Any) -> RequestTimes | None:
    """A request's own times from vLLM's RequestStateStats: TTFT from its arrival (queueing
    behind the requests submitted with it included, as a client sees it), latency to its
    last token on the engine core's clock; None where vLLM kept no stats for it."""
    if metrics is None or not metrics.first_token_ts:
        return None
    ttft = float(metrics.first_token_latency)
    decode = float(metrics.last_token_ts) - float(metrics.first_token_ts)
    return RequestTimes(ttft, ttft + decode, int(metrics.num_generation_tokens))
