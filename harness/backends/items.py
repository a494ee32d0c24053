"""Scoring items shared by the backends, so every engine scores the same tokens.

An item is (tokens, n_scored): the prefix token, the context and the continuation, of which
the last n_scored tokens are the targets.
"""

from __future__ import annotations

from collections.abc import Callable

Item = tuple[list[int], int]


def context_item(
    encode: Callable[[str], list[int]],
    prefix_id: int,
    max_length: int,
    context: str,
    continuation: str,
) -> Item:
    """The tokens of a log-likelihood request, cut to the last max_length + 1.

    Trailing context spaces belong to the continuation (lm-evaluation-harness), and the
    continuation's tokens are those the whole text has beyond the context's own encoding, so
    a merge across the boundary is scored as the continuation.
    """
    spaces = len(context) - len(context.rstrip(" "))
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole = encode(context + continuation)
    n_context = len(encode(context))
    cont = whole[n_context:] or whole[-1:]
    tokens = [prefix_id, *whole[: len(whole) - len(cont)], *cont]
    return tokens[-(max_length + 1) :], min(len(cont), max_length)
