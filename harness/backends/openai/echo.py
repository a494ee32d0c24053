"""Prompt log-likelihoods from an OpenAI `echo` + `logprobs` completion."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.backends.openai.http import ServerRefused
from harness.core.requests import LogLikelihoodResponse


def score_echo(
    body: Mapping[str, Any], text: str, scored_from: int, retries: int, url: str
) -> LogLikelihoodResponse:
    """Sum the log-probabilities of the echoed prompt tokens that start at or after
    `scored_from` (the continuation), skipping the one generated token and the first
    token, which the OpenAI echo convention leaves unscored."""
    choice = (body.get("choices") or [{}])[0]
    logprobs = choice.get("logprobs") or {}
    offsets, values = logprobs.get("text_offset"), logprobs.get("token_logprobs")
    if not offsets or values is None:
        raise ServerRefused(200, "the reply carries no prompt log-probabilities")
    tokens, tops = logprobs.get("tokens") or [], logprobs.get("top_logprobs") or []
    total, count, greedy = 0.0, 0, True
    for i, (offset, value) in enumerate(zip(offsets, values, strict=False)):
        if offset >= len(text) or offset < scored_from or value is None:
            continue
        total += float(value)
        count += 1
        top = tops[i] if i < len(tops) else None
        if top:
            greedy = greedy and float(value) >= max(top.values()) - 1e-6
        elif i >= len(tokens):
            greedy = False
    return LogLikelihoodResponse(logprob=total, is_greedy=greedy, n_tokens=count, retries=retries)
