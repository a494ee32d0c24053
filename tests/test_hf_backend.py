"""The transformers backend on a tiny random-init model: values match direct computation."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from harness.backends.hf.backend import HFBackend
from harness.backends.hf.options import HFOptions
from harness.backends.shared_transformers.load import load_model
from harness.core.requests import Generate, LogLikelihood, RollingLogLikelihood
from harness.suite.schema import ModelConfig
from tests.conftest import CORPUS


def _backend(folder: Path, **knobs: Any) -> HFBackend:
    cfg = ModelConfig(name="tiny", source=str(folder))
    model, tok, source = load_model(cfg, knobs, folder)
    return HFBackend("tiny", source, model, tok, HFOptions.model_validate(knobs))


def _direct_logprob(backend: HFBackend, tokens: list[int], n_scored: int) -> float:
    ids = torch.tensor([tokens])
    with torch.no_grad():
        logits = backend.model(ids[:, :-1]).logits.float()
    lp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).squeeze()
    return float(lp[-n_scored:].sum())


def test_rolling_equals_one_forward_when_text_fits(tiny_model_dir: Path) -> None:
    backend = _backend(tiny_model_dir)
    text = CORPUS[2]
    seq = [backend.prefix_id, *backend.encode(text)]
    (response,) = backend.loglikelihood_rolling([RollingLogLikelihood(text)])
    assert response.n_tokens == len(seq) - 1
    assert response.logprob == pytest.approx(_direct_logprob(backend, seq, len(seq) - 1), rel=1e-5)


def test_rolling_windows_match_manual_windows(tiny_model_dir: Path) -> None:
    backend = _backend(tiny_model_dir)
    text = " ".join(CORPUS)
    seq = [backend.prefix_id, *backend.encode(text)]
    assert len(seq) > 40
    (response,) = backend.loglikelihood_rolling([RollingLogLikelihood(text, 16, 8)])
    expected = 0.0
    scored_to = 0
    while scored_to < len(seq) - 1:
        end = min(len(seq) - 1, 16 if scored_to == 0 else scored_to + 8)
        start = max(0, end - 16)
        expected += _direct_logprob(backend, seq[start : end + 1], end - scored_to)
        scored_to = end
    assert response.logprob == pytest.approx(expected, rel=1e-5)


def test_batching_and_order_do_not_change_results(tiny_model_dir: Path) -> None:
    texts = [RollingLogLikelihood(t, 24) for t in CORPUS]
    one = _backend(tiny_model_dir, batch_size=1).loglikelihood_rolling(texts)
    many = _backend(tiny_model_dir, batch_size=8).loglikelihood_rolling(list(reversed(texts)))
    for a, b in zip(one, reversed(many), strict=True):
        assert a.logprob == pytest.approx(b.logprob, rel=1e-4, abs=1e-4)


def test_loglikelihood_scores_only_continuation(tiny_model_dir: Path) -> None:
    backend = _backend(tiny_model_dir)
    context, continuation = "The quick brown", " fox jumps"
    (response,) = backend.loglikelihood([LogLikelihood(context, continuation)])
    whole = backend.encode(context + continuation)
    n_cont = len(whole) - len(backend.encode(context))
    expected = _direct_logprob(backend, whole, n_cont)  # no prefix token: context non-empty
    assert response.n_tokens == n_cont
    assert response.logprob == pytest.approx(expected, rel=1e-5)
    assert response.logprob is not None and response.logprob < 0
    assert isinstance(response.is_greedy, bool)


def test_generate_is_deterministic_and_counts_tokens(tiny_model_dir: Path) -> None:
    backend = _backend(tiny_model_dir, batch_size=2)
    reqs = [Generate(CORPUS[0], 5), Generate(CORPUS[1], 5), Generate("Rain", 5)]
    first = backend.generate(reqs)
    again = backend.generate(list(reversed(reqs)))
    assert [r.text for r in first] == [r.text for r in reversed(again)]
    for r in first:
        assert r.n_out is not None and 0 < r.n_out <= 5
        assert r.ttft_s is not None and r.latency_s is not None and r.ttft_s <= r.latency_s


def test_packed_4bit_parameters_count_by_their_original_shape() -> None:
    """bitsandbytes Params4bit hold two weights per byte; numel() is half the count."""
    from types import SimpleNamespace

    from harness.hardware.params import count_params, logical_numel

    class Packed(torch.Tensor):
        quant_state: Any

    packed = torch.zeros(32 * 64 // 2, 1, dtype=torch.uint8).as_subclass(Packed)
    packed.quant_state = SimpleNamespace(shape=torch.Size([32, 64]))
    plain = torch.zeros(10)
    assert packed.numel() == 1024 and logical_numel(packed) == 2048
    assert count_params([packed, plain]) == 2058


def test_info_counts_parameters_and_bytes(tiny_model_dir: Path) -> None:
    backend = _backend(tiny_model_dir, dtype="bfloat16")
    n = sum(p.numel() for p in backend.model.parameters())
    assert backend.info.n_params == n
    assert backend.info.weight_bytes == 2 * n
    assert backend.info.dtype == "bfloat16"
    logprob = backend.loglikelihood_rolling([RollingLogLikelihood("abc")])[0].logprob
    assert logprob is not None and math.isfinite(logprob)


def test_context_tokens_follow_lm_eval(tiny_model_dir: Path) -> None:
    """lm-evaluation-harness's _encode_pair: every trailing whitespace character of the
    context moves to the continuation, and the prefix token is added only for an empty
    context (the old code prepended it always and moved only spaces)."""
    backend = _backend(tiny_model_dir)
    tokens, n = backend._context_item("Answer:\n", "42")
    whole = backend.encode("Answer:" + "\n42")
    n_cont = len(whole) - len(backend.encode("Answer:"))
    assert (tokens, n) == (whole, n_cont)
    assert tokens[0] != backend.prefix_id or whole[0] == backend.prefix_id
    tokens, n = backend._context_item("", "hello there")
    assert tokens == [backend.prefix_id, *backend.encode("hello there")]
    assert n == len(tokens) - 1
    (empty,) = backend.loglikelihood([LogLikelihood("", "hello there")])
    assert empty.logprob == pytest.approx(_direct_logprob(backend, tokens, n), rel=1e-5)
