"""Score several continuations of one context with a single forward over the context.

The context (all but its last token) runs once and fills the KV cache; the cache is repeated
per continuation and the continuations run as one right-padded batch. Padding sits after the
real tokens, so under causal attention it cannot change any scored position.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import torch

Item = tuple[list[int], int]


def shared_groups(items: Sequence[Item]) -> dict[tuple[int, ...], list[int]]:
    """Indices of items grouped by their context tokens; only groups of two or more."""
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for index, (tokens, n_scored) in enumerate(items):
        if len(tokens) - n_scored >= 2:
            groups[tuple(tokens[: len(tokens) - n_scored])].append(index)
    return {ctx: members for ctx, members in groups.items() if len(members) > 1}


@torch.inference_mode()
def score_shared(
    model: Any,
    device: torch.device,
    pad_id: int,
    context: Sequence[int],
    continuations: Sequence[Sequence[int]],
) -> list[tuple[float, bool]]:
    """(summed log-probability, all-greedy) of each continuation given the context."""
    prefix = torch.tensor([list(context[:-1])], device=device)
    # logits_to_keep=1: the context's own predictions are not needed, only its cache.
    cache = model(input_ids=prefix, use_cache=True, logits_to_keep=1).past_key_values
    k = len(continuations)
    cache.batch_repeat_interleave(k)
    width = max(len(c) for c in continuations)
    inputs = torch.full((k, width), pad_id, dtype=torch.long)
    targets = torch.full((k, width), pad_id, dtype=torch.long)
    mask = torch.zeros((k, width), dtype=torch.bool)
    for row, cont in enumerate(continuations):
        inputs[row, : len(cont)] = torch.tensor([context[-1], *cont[:-1]])
        targets[row, : len(cont)] = torch.tensor(list(cont))
        mask[row, : len(cont)] = True
    past = len(context) - 1
    attention = torch.cat([torch.ones((k, past), dtype=torch.long), mask.long()], dim=1)
    positions = torch.arange(past, past + width).expand(k, width)
    logits = model(
        input_ids=inputs.to(device),
        attention_mask=attention.to(device),
        position_ids=positions.to(device),
        past_key_values=cache,
        use_cache=True,
    ).logits.float()
    targets, mask = targets.to(device), mask.to(device)
    token_lp = logits.gather(-1, targets[..., None]).squeeze(-1) - logits.logsumexp(-1)
    sums = (token_lp * mask).sum(1).tolist()
    greedy = ((logits.argmax(-1) == targets) | ~mask).all(1).tolist()
    return [(float(s), bool(g)) for s, g in zip(sums, greedy, strict=True)]
