"""Scoring many items in few forwards: deduplicated, length-sorted, left-padded rows.

An item is (tokens, n_scored): the model reads tokens[:-1] and its last n_scored predictions
are scored. Items whose model input is the same token sequence become one row: the choices of
a classification prompt whose labels are single tokens ("Sentiment:" → " positive" /
" negative") are all read from the last position of one forward over the prompt. Rows from
many samples are batched together, longest first so padding stays small, under two bounds:
`batch_size` rows and `batch_tokens` rows × width, which bounds activations; the output head
runs in chunks (hf_head), which bounds logits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from harness.backends.hf.head import ChunkedHead, ScoredPositions, add_per_owner

Item = tuple[list[int], int]


@dataclass(frozen=True)
class ItemScore:
    """An item's summed log-probability, whether every target was the argmax, and the work it
    caused: input tokens run and output-head positions (a row's work is charged to the first
    of its items, so shared work is counted once)."""

    logprob: float
    greedy: bool
    computed: int
    logits: int


@dataclass
class _Row:
    inputs: tuple[int, ...]
    positions: list[int] = field(default_factory=list)  # where a target is predicted
    targets: list[int] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # the item each target belongs to
    items: list[int] = field(default_factory=list)


def plan_rows(items: Sequence[Item]) -> list[_Row]:
    """One row per distinct model input, carrying the targets of every item that reads it."""
    rows: dict[tuple[int, ...], _Row] = {}
    for index, (tokens, n_scored) in enumerate(items):
        inputs = tuple(tokens[:-1])
        row = rows.setdefault(inputs, _Row(inputs))
        row.items.append(index)
        first = len(inputs) - n_scored
        for position in range(first, len(inputs)):
            row.positions.append(position)
            row.targets.append(tokens[position + 1])
            row.owners.append(index)
    return list(rows.values())


def batch_rows(lengths: Sequence[int], batch_size: int, batch_tokens: int) -> list[list[int]]:
    """Rows grouped longest first, each group within batch_size rows and batch_tokens tokens
    (rows × longest); a row longer than batch_tokens runs alone."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    groups: list[list[int]] = []
    for index in order:
        if groups:
            group = groups[-1]
            width = lengths[group[0]]  # the longest, since rows arrive longest first
            if len(group) < batch_size and width * (len(group) + 1) <= batch_tokens:
                group.append(index)
                continue
        groups.append([index])
    return groups


class RowScorer:
    """Scores items on a transformers causal LM; see the module docstring."""

    def __init__(
        self, model: Any, pad_id: int, batch_size: int, batch_tokens: int, head: ChunkedHead
    ) -> None:
        self.model = model
        self.device = head.head.weight.device
        self.pad_id = pad_id
        self.batch_size = batch_size
        self.head = head
        # Without a split head the model's own forward holds [rows, kept positions, vocab]
        # logits, so its batches are bounded by the logits budget too.
        self.batch_tokens = batch_tokens if head.split else min(batch_tokens, head.chunk)

    @torch.inference_mode()
    def score(
        self,
        items: Sequence[Item],
        want_greedy: bool,
        progress: Callable[[int], None] | None = None,
    ) -> list[ItemScore]:
        rows = plan_rows(items)
        # Sums stay on the device (no host sync in the loop) and come back once at the end;
        # MPS has no float64, so there they are kept on the host.
        where = self.device if self.device.type != "mps" else torch.device("cpu")
        logprob = torch.zeros(len(items), dtype=torch.float64, device=where)
        missed = torch.zeros(len(items), dtype=torch.long, device=where)  # not the argmax
        computed = [0] * len(items)
        logits = [0] * len(items)
        lengths = [len(row.inputs) for row in rows]
        for group in batch_rows(lengths, self.batch_size, self.batch_tokens):
            batch = [rows[i] for i in group]
            owners = torch.tensor(
                [o for row in batch for o in row.owners], dtype=torch.long, device=where
            )
            scored = self._forward(batch, want_greedy)
            add_per_owner(scored, owners, logprob, missed)
            for row in batch:
                computed[row.items[0]] += len(row.inputs)
                logits[row.items[0]] += len(row.positions)
            if progress:
                progress(sum(len(row.items) for row in batch))
        sums, misses = logprob.tolist(), missed.tolist()  # the one transfer back
        return [
            ItemScore(sums[i], misses[i] == 0, computed[i], logits[i]) for i in range(len(items))
        ]

    def _forward(self, batch: Sequence[_Row], want_greedy: bool) -> ScoredPositions:
        """Log-probabilities of every target of the batch's rows, in row order."""
        width = max(len(row.inputs) for row in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for r, row in enumerate(batch):
            ids[r, width - len(row.inputs) :] = torch.tensor(row.inputs)
            attention[r, width - len(row.inputs) :] = 1
        offsets = width - attention.sum(1, keepdim=True)
        positions = (torch.arange(width)[None, :] - offsets).clamp(min=0)
        row_index = torch.tensor([r for r, row in enumerate(batch) for _ in row.positions])
        columns = torch.tensor(
            [width - len(row.inputs) + p for row in batch for p in row.positions]
        )
        targets = torch.tensor([t for row in batch for t in row.targets], device=self.device)
        # No mask when no row is padded: attention can take its unmasked causal fast path.
        mask = None if bool(attention.all()) else attention.to(self.device)
        ids, positions = ids.to(self.device), positions.to(self.device)
        if self.head.split:
            hidden = self.head.hidden(ids, mask, positions)
            chosen = hidden[row_index.to(self.device), columns.to(self.device)]
            return self.head.score_outputs(chosen, targets, want_greedy)
        keep = width - int(columns.min())
        out = self.model(
            input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep
        )
        chosen = out.logits[row_index.to(self.device), (columns - (width - keep)).to(self.device)]
        return self.head.score_outputs(chosen, targets, want_greedy)
