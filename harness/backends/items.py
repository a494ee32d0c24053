"""Scoring items shared by the backends, so every engine scores the same tokens.

An item is (tokens, n_scored): the prefix token, the context and the continuation, of which
the last n_scored tokens are the targets.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.core.requests import LogLikelihoodResponse

Item = tuple[list[int], int]


def context_item(
    encode: Callable[[str], list[int]],
    prefix_id: int,
    max_length: int,
    context: str,
    continuation: str,
) -> Item:
    """The tokens of a log-likelihood request, cut to the last max_length + 1, built as
    lm-evaluation-harness builds them: all trailing whitespace of the context moves to the
    continuation (so "Answer:\n" + "42" scores "\n42"), the continuation's tokens are those
    the whole text has beyond the context's own encoding (a merge across the boundary is
    scored as the continuation), and the prefix (BOS) token is prepended only when the
    context is empty, so the first continuation token has something to be conditioned on.
    """
    stripped = context.rstrip()
    if len(stripped) < len(context):
        context, continuation = stripped, context[len(stripped) :] + continuation
    if not context:
        cont = encode(continuation)
        tokens = [prefix_id, *cont]
    else:
        whole = encode(context + continuation)
        n_context = len(encode(context))
        cont = whole[n_context:] or whole[-1:]
        tokens = [*whole[: len(whole) - len(cont)], *cont]
        if len(tokens) == len(cont):  # the context encoded to nothing of its own
            tokens = [prefix_id, *tokens]
    return tokens[-(max_length + 1) :], min(len(cont), max_length)


def item_response(
    item: Item, logprob: float, greedy: bool, computed: int, logits: int | None = None
) -> LogLikelihoodResponse:
    """The answer to a log-likelihood request scored as `item`; `computed` counts the tokens
    the engine actually ran and `logits` the output-head positions (fewer when a shared
    context was reused; both may be 0 when another request's forward served this one)."""
    tokens, n_scored = item
    return LogLikelihoodResponse(
        logprob=logprob,
        is_greedy=greedy,
        n_tokens=n_scored,
        n_in=len(tokens) - 1,
        n_computed=computed,
        n_logits=n_scored if logits is None else logits,
    )
