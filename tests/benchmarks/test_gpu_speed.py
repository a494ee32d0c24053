"""The harness against plain transformers on the same GPU, ratios in one process (issue 21).

The model has SmolLM2-135M's exact shapes (30 layers, hidden 576, 9 heads, 3 KV heads, vocab
49,152) with random weights, built here: speed does not depend on weight values, and a GPU
machine without network cannot fetch the real one. Both sides run the same module.

  scoring   harness rolling log-likelihoods at batch 32 against a bare batched, masked loop
            (tests/benchmarks/bare_loops.py): >= 0.9x its speed
  dtype     harness scoring in bf16 is not slower than in fp32
  decode    harness greedy generation (its default decode mode on CUDA: a static cache and a
            compiled step, prepared before timing) against transformers' own static-cache
            generate(), batch 8: time per output token <= 1.2x
  batch 1   a batch-1 unit of scoring and generation finishes

On a GPU machine: `python -m pytest tests/benchmarks/test_gpu_speed.py -s -p no:cacheprovider`.
`LIMITBENCH_BENCH_DEVICE=cpu` runs the same script on the CPU at small sizes, printing the
ratios without asserting them (the targets are the GPU's), so the script is proven here.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.core.requests import Generate, RollingLogLikelihood
from tests.benchmarks.bare_loops import batched_document_logprobs
from tests.conftest import CORPUS, train_tiny_tokenizer

DEVICE = os.environ.get("LIMITBENCH_BENCH_DEVICE", "cuda")
ON_GPU = DEVICE == "cuda"
pytestmark = [pytest.mark.slow, *([pytest.mark.gpu] if ON_GPU else [])]
ROUNDS = 3
N_DOCS, DOC_WORDS = (256, 400) if ON_GPU else (16, 120)
NEW_TOKENS = 64 if ON_GPU else 8


@pytest.fixture(scope="module")
def shaped_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2-135M's shapes, random weights, a small byte-level tokenizer trained here."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("smollm2-shaped")
    fast = train_tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=49152,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=2,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def _backend(folder: Path, **knobs: Any) -> Any:
    from harness.run.load import load_variant
    from harness.suite.schema import ModelConfig
    from harness.variants import Variant

    model = ModelConfig(name="shaped", source=str(folder))
    knobs = {"device": DEVICE, **knobs}
    return load_variant(Variant(model, tuple(sorted(knobs.items()))), folder).backend


def _documents() -> list[str]:
    words = " ".join(CORPUS).split()
    return [
        " ".join(words[(i * 7 + j) % len(words)] for j in range(DOC_WORDS)) for i in range(N_DOCS)
    ]


def _median_seconds(work: Callable[[], object], sync: Callable[[], None]) -> float:
    times = []
    for _ in range(ROUNDS):
        sync()
        started = time.perf_counter()
        work()
        sync()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _report(name: str, value: float, target: str) -> None:
    print(f"\n[{DEVICE}] {name}: {value:.3f} (target {target})")


def test_scoring_at_batch_32_reaches_the_bare_batched_loop(shaped_dir: Path) -> None:
    dtype = "bfloat16" if ON_GPU else "float32"
    backend = _backend(shaped_dir, dtype=dtype, batch_size=32, batch_tokens=1 << 20)
    texts = _documents()
    requests = [RollingLogLikelihood(t) for t in texts]
    tokens = [[backend.prefix_id, *backend.encode(t)] for t in texts]
    backend.loglikelihood_rolling(requests[:2])  # warm both paths up (kernels, allocator)
    batched_document_logprobs(backend.model, backend.pad_id, tokens[:2], 32)
    harness = [r.logprob for r in backend.loglikelihood_rolling(requests)]
    bare = batched_document_logprobs(backend.model, backend.pad_id, tokens, 32)
    tolerance = 0.05 if ON_GPU else 1e-3  # bf16 sums over other batch shapes
    assert all(abs(h - b) <= tolerance * abs(b) for h, b in zip(harness, bare, strict=True))
    sync = backend.synchronize
    t_harness = _median_seconds(lambda: backend.loglikelihood_rolling(requests), sync)
    t_bare = _median_seconds(
        lambda: batched_document_logprobs(backend.model, backend.pad_id, tokens, 32),
        backend.synchronize,
    )
    ratio = t_bare / t_harness
    _report("scoring speed, harness / bare batched loop", ratio, ">= 0.9")
    if ON_GPU:
        assert ratio >= 0.9


def test_bf16_scoring_is_not_slower_than_fp32(shaped_dir: Path) -> None:
    requests = [RollingLogLikelihood(t) for t in _documents()]
    seconds = {}
    for dtype in ("float32", "bfloat16"):
        backend = _backend(shaped_dir, dtype=dtype, batch_size=32, batch_tokens=1 << 20)
        backend.loglikelihood_rolling(requests[:2])

        def score(b: Any = backend) -> object:
            return b.loglikelihood_rolling(requests)

        seconds[dtype] = _median_seconds(score, backend.synchronize)
        del backend
    ratio = seconds["float32"] / seconds["bfloat16"]
    _report("bf16 speed / fp32 speed", ratio, ">= 1.0")
    if ON_GPU:
        assert ratio >= 1.0


def _reference_tpot(model: Any, ids: Any, mask: Any, pad_id: int, sync: Any) -> float:
    """transformers' static-cache generate(), warmed up (compiled) first: (T(N) - T(1)) /
    (N - 1), so prefill drops out."""

    def run(n: int) -> None:
        model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=n,
            min_new_tokens=n,
            do_sample=False,
            pad_token_id=pad_id,
            cache_implementation="static",
        )

    run(NEW_TOKENS)  # compiles (on CUDA) for this shape
    long = _median_seconds(lambda: run(NEW_TOKENS), sync)
    short = _median_seconds(lambda: run(1), sync)
    return (long - short) / (NEW_TOKENS - 1)


def test_decode_at_batch_8_is_within_1_2x_of_transformers_static_cache(shaped_dir: Path) -> None:
    import torch

    dtype = "bfloat16" if ON_GPU else "float32"
    backend = _backend(shaped_dir, dtype=dtype, batch_size=8)
    prompts = [" ".join(_documents()[i].split()[:40]) for i in range(8)]
    requests = [Generate(p, NEW_TOKENS, ()) for p in prompts]
    shorts = [Generate(p, 1, ()) for p in prompts]
    prepared = backend.prepare_generation([*requests, *shorts])
    print(f"\n[{DEVICE}] decode mode {backend.decode_mode}, prepared in {prepared or 0:.1f} s")
    long = _median_seconds(lambda: backend.generate(requests), backend.synchronize)
    short = _median_seconds(lambda: backend.generate(shorts), backend.synchronize)
    harness = (long - short) / (NEW_TOKENS - 1)
    width = max(len(backend._prompt_ids(r)) for r in requests)
    ids = torch.full((8, width), backend.pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, request in enumerate(requests):
        prompt = backend._prompt_ids(request)
        ids[row, width - len(prompt) :] = torch.tensor(prompt)
        mask[row, width - len(prompt) :] = 1
    device = backend.device
    reference = _reference_tpot(
        backend.model, ids.to(device), mask.to(device), backend.pad_id, backend.synchronize
    )
    ratio = harness / reference
    _report(f"decode TPOT harness {harness * 1e3:.2f} ms / static generate() "
            f"{reference * 1e3:.2f} ms", ratio, "<= 1.2")  # fmt: skip
    if ON_GPU:
        assert ratio <= 1.2


def test_a_batch_1_unit_finishes(shaped_dir: Path) -> None:
    backend = _backend(shaped_dir, batch_size=1)
    started = time.perf_counter()
    backend.loglikelihood_rolling([RollingLogLikelihood(t) for t in _documents()[:8]])
    backend.generate([Generate(t[:200], 16, ()) for t in _documents()[:8]])
    backend.synchronize()
    took = time.perf_counter() - started
    _report("batch-1 unit (8 texts scored, 8 x 16 tokens generated), seconds", took, "< 90")
    assert took < 90
