"""The floor: what an engineer would write by hand with transformers for the same work.

These loops are the denominators of the scoring benchmarks. They use the harness's own
tokens (so both sides score identical sequences) and nothing else of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


@torch.inference_mode()
def choice_logprobs(
    model: Any, pad_id: int, prompts: Sequence[Sequence[int]], labels: Sequence[int], batch: int
) -> list[list[float]]:
    """One forward per prompt, prompts batched in their given order and left-padded; every
    single-token label read from the last position's log-softmax."""
    out: list[list[float]] = []
    for start in range(0, len(prompts), batch):
        group = prompts[start : start + batch]
        width = max(len(p) for p in group)
        ids = torch.full((len(group), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for row, prompt in enumerate(group):
            ids[row, width - len(prompt) :] = torch.tensor(list(prompt))
            mask[row, width - len(prompt) :] = 1
        positions = (mask.cumsum(1) - 1).clamp(min=0)
        logits = model(
            input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1
        ).logits[:, -1]
        logprobs = logits.float().log_softmax(-1)[:, list(labels)]
        out.extend(logprobs.tolist())
    return out


@torch.inference_mode()
def document_logprobs(model: Any, documents: Sequence[Sequence[int]]) -> list[float]:
    """One forward per document (prefix token first): the summed log-probability of every
    token after the prefix."""
    totals: list[float] = []
    for tokens in documents:
        ids = torch.tensor([list(tokens)])
        logits = model(input_ids=ids[:, :-1]).logits[0].float()
        picked = logits.log_softmax(-1).gather(-1, ids[0, 1:, None])
        totals.append(float(picked.sum()))
    return totals
