"""Score several continuations of one context with a single forward over the context.

The context (all but its last token) runs once and fills the KV cache; the cache is repeated
per continuation and the continuations run as one right-padded batch. Padding sits after the
real tokens, so under causal attention it cannot change any scored position.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import torch

from harness.backends.hf.head import ChunkedHead, add_per_owner

Item = tuple[list[int], int]


def shared_groups(items: Sequence[Item]) -> dict[tuple[int, ...], list[int]]:
    """Indices of items grouped by their context tokens; only groups of two or more."""
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for index, (tokens, n_scored) in enumerate(items):
        if len(tokens) - n_scored >= 2:
            groups[tuple(tokens[: len(tokens) - n_scored])].append(index)
    return {ctx: members for ctx, members in groups.items() if len(members) > 1}


def _cache_keyword(runner: Any) -> str:
    """The KV cache's name in forward's arguments and outputs: transformers 5 renamed
    `past_key_values` to `cache` (the old name warns, and goes in 5.40); 4.x knows only it."""
    return "cache" if "cache" in inspect.signature(runner.forward).parameters else "past_key_values"


@torch.inference_mode()
def score_shared(
    head: ChunkedHead, pad_id: int, context: Sequence[int], continuations: Sequence[Sequence[int]]
) -> list[tuple[float, bool]]:
    """(summed log-probability, all-greedy) of each continuation given the context."""
    model, device = head.model, head.head.weight.device
    prefix = torch.tensor([list(context[:-1])], device=device)
    # The context's own predictions are not needed, only its cache: no output head here.
    runner = model.get_decoder() if head.split else model
    extra = {} if head.split else {"logits_to_keep": 1}
    keyword = _cache_keyword(runner)
    cache = runner(input_ids=prefix, use_cache=True, **extra)[keyword]
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
    out = runner(
        input_ids=inputs.to(device),
        attention_mask=attention.to(device),
        position_ids=positions.to(device),
        use_cache=True,
        **{keyword: cache},
    )
    # Only the real (unpadded) positions reach the head, in its bounded chunks.
    rows, columns = mask.nonzero(as_tuple=True)
    chosen = (out.last_hidden_state if head.split else out.logits)[
        rows.to(device), columns.to(device)
    ]
    wanted = targets[rows, columns].to(device)
    sums = torch.zeros(k, dtype=torch.float64)
    missed = torch.zeros(k, dtype=torch.long)
    add_per_owner(head.score_outputs(chosen, wanted, True), rows, sums, missed)
    return [(float(s), bool(m == 0)) for s, m in zip(sums, missed, strict=True)]
