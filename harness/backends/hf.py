"""The transformers backend: batched, length-sorted, one forward per batch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import torch

from harness.backends.base import BackendInfo, Progress
from harness.backends.hf_generate import GenerationMixin
from harness.backends.hf_params import count_params
from harness.backends.items import context_item, item_response
from harness.backends.windows import rolling_windows
from harness.requests import (
    LogLikelihood,
    LogLikelihoodResponse,
    RollingLogLikelihood,
    RollingResponse,
)


def weight_bytes(model: Any) -> int:
    """Bytes of the parameters, plus torch's packed int8 weights, which are not parameters."""
    total = sum(t.numel() * t.element_size() for t in model.parameters())
    for module in model.modules():
        packed = getattr(module, "_packed_params", None)
        if packed is not None and hasattr(module, "weight") and callable(module.weight):
            total += module.weight().numel()  # one byte per int8 weight
    return int(total)


# Logits are [batch, positions, vocab] floats; cap positions per batch so that a large vocab
# (Gemma: 262k) does not need gigabytes for one forward.
LOGITS_BUDGET_ELEMENTS = 1 << 27
Item = tuple[list[int], int]  # (tokens: input followed by the last target, n_scored)


class HFBackend(GenerationMixin):
    def __init__(
        self, name: str, source: str, model: Any, tokenizer: Any, knobs: Mapping[str, Any]
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = next(model.parameters()).device
        context = int(getattr(model.config, "max_position_embeddings", 2048) or 2048)
        self.max_length = min(int(knobs.get("max_length", context)), context)
        self.batch_size = int(knobs.get("batch_size", 8))
        self.share_context = bool(knobs.get("share_context", True))
        eos = tokenizer.eos_token_id
        self.prefix_id = int(tokenizer.bos_token_id if tokenizer.bos_token_id is not None else eos)
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos)
        vocab = int(model.get_output_embeddings().weight.shape[0])
        self.max_positions = max(self.max_length, LOGITS_BUDGET_ELEMENTS // vocab)
        params = list(model.parameters())
        self.info = BackendInfo(
            model=name,
            source=source,
            n_params=count_params(params),
            dtype=str(next(iter(params)).dtype).removeprefix("torch."),
            device=str(self.device),
            weight_bytes=weight_bytes(model),
            max_length=self.max_length,
            details={"architecture": type(model).__name__, "vocab_size": vocab},
        )

    def refresh_info(self) -> None:
        """After a transform: the bytes the weights now occupy (n_params stays the original
        count; the transform reports the effective one)."""
        self.info = replace(self.info, weight_bytes=weight_bytes(self.model))

    # ---- helpers -------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _batches(self, order: list[int], lengths: list[int]) -> list[list[int]]:
        """Consecutive groups of the length-sorted order within the batch and logits budgets."""
        batches: list[list[int]] = []
        current: list[int] = []
        for index in order:
            widest = max([lengths[i] for i in current] + [lengths[index]])
            too_many = len(current) >= self.batch_size
            if current and (too_many or widest * (len(current) + 1) > self.max_positions):
                batches.append(current)
                current = []
            current.append(index)
        if current:
            batches.append(current)
        return batches

    @torch.inference_mode()
    def _score(self, items: Sequence[Item], progress: Progress | None) -> list[tuple[float, bool]]:
        """Summed log-probability of each item's last n_scored targets, and whether greedy.

        Rows are left-padded so every row's scored targets sit at the end; the output head
        then runs only on the last max(n_scored) positions (`logits_to_keep`), which for a
        large vocabulary is most of the cost of scoring short continuations.
        """
        lengths = [len(tokens) - 1 for tokens, _ in items]
        order = sorted(range(len(items)), key=lambda i: -lengths[i])
        results: list[tuple[float, bool]] = [(0.0, True)] * len(items)
        for batch in self._batches(order, lengths):
            sums, greedy = self._score_batch([items[i] for i in batch])
            for row, i in enumerate(batch):
                results[i] = (sums[row], greedy[row])
            if progress:
                progress(len(batch))
        return results

    def _score_batch(self, items: Sequence[Item]) -> tuple[list[float], list[bool]]:
        lengths = torch.tensor([len(tokens) - 1 for tokens, _ in items])
        width = int(lengths.max())
        ids = torch.full((len(items), width + 1), self.pad_id, dtype=torch.long)
        for row, (tokens, _) in enumerate(items):
            ids[row, width + 1 - len(tokens) :] = torch.tensor(tokens)
        start = (width - lengths)[:, None]
        columns = torch.arange(width)[None, :]
        attention = (columns >= start).long()
        positions = (columns - start).clamp(min=0)
        scored = torch.tensor([n for _, n in items])
        keep = int(scored.max())
        logits = self.model(
            input_ids=ids[:, :-1].to(self.device),
            attention_mask=attention.to(self.device),
            position_ids=positions.to(self.device),
            logits_to_keep=keep,
        ).logits.float()
        targets = ids[:, -keep:].to(self.device)
        token_lp = logits.gather(-1, targets[..., None]).squeeze(-1) - logits.logsumexp(-1)
        mask = (torch.arange(keep)[None, :] >= (keep - scored)[:, None]).to(self.device)
        sums = (token_lp * mask).sum(1).tolist()
        greedy = ((logits.argmax(-1) == targets) | ~mask).all(1).tolist()
        return [float(x) for x in sums], [bool(g) for g in greedy]

    # ---- the three request kinds ---------------------------------------------------------
    def loglikelihood(
        self, reqs: Sequence[LogLikelihood], progress: Progress | None = None
    ) -> list[LogLikelihoodResponse]:
        items = [self._context_item(r.context, r.continuation) for r in reqs]
        scores, computed = self._score_with_sharing(items, progress)
        return [
            item_response(item, lp, greedy, n)
            for (lp, greedy), item, n in zip(scores, items, computed, strict=True)
        ]

    def _score_with_sharing(
        self, items: Sequence[Item], progress: Progress | None
    ) -> tuple[list[tuple[float, bool]], list[int]]:
        """Continuations of one context share its forward; the rest go through _score.

        Also returns the tokens each request actually ran through the model, for honest FLOP
        counts: a shared context is charged to the first continuation of each chunk that
        ran it.
        """
        from harness.backends.hf_shared import score_shared, shared_groups

        groups = shared_groups(items) if self.share_context else {}
        results: dict[int, tuple[float, bool]] = {}
        computed = [len(tokens) - 1 for tokens, _ in items]
        step = max(self.batch_size, 2)
        for context, members in groups.items():
            conts = [items[i][0][len(context) :] for i in members]
            for start in range(0, len(members), step):
                chunk = members[start : start + step]
                scored = score_shared(
                    self.model, self.device, self.pad_id, context, conts[start : start + step]
                )
                results.update(zip(chunk, scored, strict=True))
                for index in chunk[1:]:
                    computed[index] -= len(context) - 1
            if progress:
                progress(len(members))
        rest = [i for i in range(len(items)) if i not in results]
        results.update(zip(rest, self._score([items[i] for i in rest], progress), strict=True))
        return [results[i] for i in range(len(items))], computed

    def _context_item(self, context: str, continuation: str) -> Item:
        return context_item(self.encode, self.prefix_id, self.max_length, context, continuation)

    def loglikelihood_rolling(
        self, reqs: Sequence[RollingLogLikelihood], progress: Progress | None = None
    ) -> list[RollingResponse]:
        items: list[Item] = []
        owners: list[int] = []
        counts: list[int] = []
        for index, req in enumerate(reqs):
            seq = [self.prefix_id, *self.encode(req.text)]
            counts.append(len(seq) - 1)
            length = min(req.max_length or self.max_length, self.max_length)
            for w in rolling_windows(len(seq) - 1, length, req.stride):
                items.append((seq[w.start : w.end + 1], w.n_scored))
                owners.append(index)
        totals = [0.0] * len(reqs)
        computed = [0] * len(reqs)
        for owner, (lp, _), item in zip(owners, self._score(items, None), items, strict=True):
            totals[owner] += lp
            computed[owner] += len(item[0]) - 1
        if progress:
            progress(len(reqs))
        return [
            RollingResponse(logprob=t, n_tokens=n, n_computed=c)
            for t, n, c in zip(totals, counts, computed, strict=True)
        ]
