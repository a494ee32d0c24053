"""The scoring engine: rows deduplicated and batched across samples, the head in chunks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from harness.backends.hf.backend import HFBackend
from harness.backends.hf.head import ChunkedHead
from harness.backends.hf.options import HFOptions
from harness.backends.hf.scoring import RowScorer, batch_rows, plan_rows
from harness.backends.shared_transformers.load import load_model
from harness.core.requests import LogLikelihood, RollingLogLikelihood
from harness.suite.schema import ModelConfig
from tests.conftest import CORPUS


def _backend(folder: Path, **knobs: Any) -> HFBackend:
    cfg = ModelConfig(name="tiny", source=str(folder))
    model, tok, source = load_model(cfg, knobs, folder)
    return HFBackend("tiny", source, model, tok, HFOptions.model_validate(knobs))


def _choice_requests() -> list[LogLikelihood]:
    """Per sentence: two single-token labels and two multi-token continuations (which share
    the prompt's KV cache)."""
    reqs = []
    for sentence in CORPUS:
        prompt = f"Review: {sentence[:60]}\nSentiment:"
        reqs += [
            LogLikelihood(prompt, " a"),
            LogLikelihood(prompt, " b"),
            LogLikelihood(prompt, " the quick brown fox"),
            LogLikelihood(prompt, " over the lazy dog"),
        ]
    return reqs


def _direct(backend: HFBackend, tokens: list[int], n_scored: int) -> tuple[float, bool]:
    ids = torch.tensor([tokens])
    with torch.no_grad():
        logits = backend.model(ids[:, :-1]).logits.float()[0, -n_scored:]
    targets = ids[0, -n_scored:]
    lp = torch.log_softmax(logits, -1).gather(-1, targets[:, None]).sum()
    return float(lp), bool((logits.argmax(-1) == targets).all())


def test_rows_share_one_input_and_keep_every_target() -> None:
    items = [([5, 6, 7, 8], 1), ([5, 6, 7, 9], 1), ([5, 6, 7, 8, 10], 2), ([1, 2], 1)]
    rows = plan_rows(items)
    assert [row.inputs for row in rows] == [(5, 6, 7), (5, 6, 7, 8), (1,)]
    first = rows[0]
    assert (first.positions, first.targets, first.owners) == ([2, 2], [8, 9], [0, 1])
    assert (rows[1].positions, rows[1].targets, rows[1].owners) == ([2, 3], [8, 10], [2, 2])
    assert rows[0].items == [0, 1]


def test_batches_go_longest_first_within_both_bounds() -> None:
    lengths = [3, 10, 4, 9, 2, 30]
    assert batch_rows(lengths, batch_size=2, batch_tokens=100) == [[5, 1], [3, 2], [0, 4]]
    # 30 alone exceeds 25 tokens; 10 + 9 = 2 x 10 = 20 fit, a third row of width 10 would not
    assert batch_rows(lengths, batch_size=8, batch_tokens=25) == [[5], [1, 3], [2, 0, 4]]


def test_batch_one_and_batch_many_agree(tiny_model_dir: Path) -> None:
    reqs = _choice_requests()
    one = _backend(tiny_model_dir, batch_size=1, share_context=False).loglikelihood(reqs)
    many = _backend(tiny_model_dir, batch_size=16).loglikelihood(reqs)
    for a, b in zip(one, many, strict=True):
        assert a.logprob == pytest.approx(b.logprob, rel=1e-5, abs=1e-5)
        assert a.is_greedy == b.is_greedy


def test_scores_equal_direct_computation(tiny_model_dir: Path) -> None:
    backend = _backend(tiny_model_dir, batch_size=4)
    reqs = _choice_requests()
    responses = backend.loglikelihood(reqs)
    for req, response in zip(reqs, responses, strict=True):
        tokens, n_scored = backend._context_item(req.context, req.continuation)
        lp, greedy = _direct(backend, tokens, n_scored)
        assert response.logprob == pytest.approx(lp, rel=1e-5, abs=1e-5)
        assert response.is_greedy == greedy


def test_single_token_labels_share_one_forward_and_are_charged_once(
    tiny_model_dir: Path,
) -> None:
    backend = _backend(tiny_model_dir, batch_size=8)
    reqs = [r for r in _choice_requests() if len(r.continuation) == 2]  # " a", " b"
    assert len(reqs) == 2 * len(CORPUS)
    calls: list[int] = []
    hook = backend.model.get_decoder().register_forward_hook(
        lambda _m, args, kwargs, _out: calls.append(kwargs["input_ids"].shape[0]),
        with_kwargs=True,
    )
    try:
        responses = backend.loglikelihood(reqs)
    finally:
        hook.remove()
    assert sum(calls) == len(CORPUS)  # one row per prompt, not per label
    contexts = [backend._context_item(r.context, r.continuation)[0][:-1] for r in reqs[::2]]
    assert sum(r.n_computed or 0 for r in responses) == sum(len(c) for c in contexts)
    assert sum(r.n_logits or 0 for r in responses) == len(reqs)  # one head position per label
    assert [r.n_computed for r in responses[1::2]] == [0] * len(contexts)


def test_head_chunks_and_model_forward_fallback_agree(tiny_model_dir: Path) -> None:
    backend = _backend(tiny_model_dir, batch_size=8)
    texts = [RollingLogLikelihood(t, 24) for t in CORPUS]
    items = []
    for req in texts:
        seq = [backend.prefix_id, *backend.encode(req.text)]
        items.append((seq[:25], 24 if len(seq) > 24 else len(seq) - 1))
    whole = backend.scorer.score(items, True)
    tiny_chunks = ChunkedHead(backend.model, budget_bytes=4 * backend.head.vocab * 3)
    assert tiny_chunks.chunk == 3 and tiny_chunks.split
    chunked = RowScorer(backend.model, backend.pad_id, 8, 4096, tiny_chunks).score(items, True)
    fallback_head = ChunkedHead(backend.model)
    fallback_head.split = False  # as for a model with soft-capped logits
    fallback = RowScorer(backend.model, backend.pad_id, 8, 4096, fallback_head).score(items, True)
    for a, b, c in zip(whole, chunked, fallback, strict=True):
        assert a.logprob == pytest.approx(b.logprob, rel=1e-6)
        assert a.logprob == pytest.approx(c.logprob, rel=1e-5)
        assert a.greedy == b.greedy == c.greedy


def test_a_model_that_post_processes_logits_is_not_split(tiny_model_dir: Path) -> None:
    backend = _backend(tiny_model_dir)
    model = backend.model
    forward = model.forward

    def softcapped(*args: Any, **kwargs: Any) -> Any:
        out = forward(*args, **kwargs)
        out.logits = torch.tanh(out.logits / 3.0) * 3.0
        return out

    model.forward = softcapped
    head = ChunkedHead(model)
    assert not head.split
    item = (backend.encode("The quick brown fox jumps"), 2)
    (score,) = RowScorer(model, backend.pad_id, 8, 4096, head).score([item], True)
    ids = torch.tensor([item[0]])
    with torch.no_grad():
        logits = model(input_ids=ids[:, :-1]).logits.float()[0, -2:]
    expected = torch.log_softmax(logits, -1).gather(-1, ids[0, -2:, None]).sum()
    assert score.logprob == pytest.approx(float(expected), rel=1e-5)
