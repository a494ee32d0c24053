"""The floor: what an engineer would write by hand with transformers for the same work.

These loops are the denominators of the scoring benchmarks. They use the harness's own
tokens (so both sides score identical sequences) and nothing else of it. They run on the
model's device: inputs built on the host and moved once per batch, results moved back once.
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
    device = next(model.parameters()).device
    for start in range(0, len(prompts), batch):
        group = prompts[start : start + batch]
        width = max(len(p) for p in group)
        ids = torch.full((len(group), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for row, prompt in enumerate(group):
            ids[row, width - len(prompt) :] = torch.tensor(list(prompt))
            mask[row, width - len(prompt) :] = 1
        positions = (mask.cumsum(1) - 1).clamp(min=0)
        ids, mask, positions = ids.to(device), mask.to(device), positions.to(device)
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
    device = next(model.parameters()).device
    for tokens in documents:
        ids = torch.tensor([list(tokens)], device=device)
        logits = model(input_ids=ids[:, :-1]).logits[0].float()
        picked = logits.log_softmax(-1).gather(-1, ids[0, 1:, None])
        totals.append(float(picked.sum()))
    return totals


@torch.inference_mode()
def batched_document_logprobs(
    model: Any, pad_id: int, documents: Sequence[Sequence[int]], batch: int
) -> list[float]:
    """Documents batched (longest first, as any engineer would sort them), right-padded and
    masked: the summed log-probability of every token after the first, summed on the device,
    one transfer per batch."""
    device = next(model.parameters()).device
    order = sorted(range(len(documents)), key=lambda i: -len(documents[i]))
    totals = [0.0] * len(documents)
    for start in range(0, len(order), batch):
        group = order[start : start + batch]
        width = max(len(documents[i]) for i in group)
        ids = torch.full((len(group), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for row, i in enumerate(group):
            ids[row, : len(documents[i])] = torch.tensor(list(documents[i]))
            mask[row, : len(documents[i])] = 1
        ids, mask = ids.to(device), mask.to(device)
        logits = model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1]).logits.float()
        picked = logits.log_softmax(-1).gather(-1, ids[:, 1:, None])[..., 0]
        sums = (picked * mask[:, 1:]).sum(-1).tolist()
        for row, i in enumerate(group):
            totals[i] = float(sums[row])
    return totals
