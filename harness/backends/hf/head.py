"""The output head run in position chunks, so [positions, vocab] logits never fill memory.

A causal LM's forward ends with `logits = head(hidden)` over every position it keeps. For a
large vocabulary (Gemma: 262k) the logits of a batch, and the log-sum-exp and argmax
temporaries of the same size, dwarf the weights. Scoring needs only one log-probability per
scored position, so the decoder runs once and the head runs on at most `chunk` scored
positions at a time: memory for logits is bounded by a budget, whatever the batch or vocab.

Splitting the forward is only sound when the model's logits are exactly head(decoder(x)).
Some architectures post-process (soft-capping, logit scales), so the split is checked once
per model against its own forward on a short probe; where it differs, scoring keeps the
model's own forward and bounds memory by batching fewer positions instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

# Bytes of float32 logits one head chunk may hold; its log-sum-exp temporaries are the same
# size again, so scoring needs about twice this on top of weights and activations.
LOGITS_BUDGET_BYTES = 64 << 20


@dataclass(frozen=True)
class ScoredPositions:
    """Per scored position: log P(target) and whether the target was the argmax."""

    logprobs: torch.Tensor  # float64 [n]
    greedy: torch.Tensor | None  # bool [n]; None when the caller did not ask for it


class ChunkedHead:
    def __init__(self, model: Any, budget_bytes: int = LOGITS_BUDGET_BYTES) -> None:
        self.model = model
        self.head = model.get_output_embeddings()
        self.vocab = int(self.head.weight.shape[0])
        self.chunk = max(1, budget_bytes // (4 * self.vocab))
        self.split = _split_matches(model)

    def hidden(
        self, ids: torch.Tensor, attention: torch.Tensor | None, positions: torch.Tensor
    ) -> torch.Tensor:
        """Final hidden states [batch, positions, width] of the decoder."""
        out = self.model.get_decoder()(
            input_ids=ids, attention_mask=attention, position_ids=positions, use_cache=False
        )
        hidden: torch.Tensor = out.last_hidden_state
        return hidden

    def score_outputs(
        self, outputs: torch.Tensor, targets: torch.Tensor, want_greedy: bool
    ) -> ScoredPositions:
        """Score chosen positions of a forward's output: hidden states where the head is
        split off (through the chunked head), the model's own logits where it is not."""
        if self.split:
            return self.score(outputs, targets, want_greedy)
        return score_logits(outputs, targets, want_greedy)

    def score(
        self, hidden: torch.Tensor, targets: torch.Tensor, want_greedy: bool
    ) -> ScoredPositions:
        """Log-probabilities of `targets` [n] given hidden states [n, width], chunk by chunk."""
        logprobs = torch.empty(len(targets), dtype=torch.float64, device=hidden.device)
        greedy = (
            torch.empty(len(targets), dtype=torch.bool, device=hidden.device)
            if want_greedy
            else None
        )
        for start in range(0, len(targets), self.chunk):
            part = slice(start, start + self.chunk)
            logits = self.head(hidden[part]).float()
            logprobs[part] = _target_logprobs(logits, targets[part])
            if greedy is not None:
                greedy[part] = logits.argmax(-1) == targets[part]
        return ScoredPositions(logprobs, greedy)


def score_logits(logits: torch.Tensor, targets: torch.Tensor, want_greedy: bool) -> ScoredPositions:
    """The same answer from logits a model's own forward produced ([n, vocab])."""
    logits = logits.float()
    greedy = logits.argmax(-1) == targets if want_greedy else None
    return ScoredPositions(_target_logprobs(logits, targets), greedy)


def add_per_owner(
    scored: ScoredPositions, owners: torch.Tensor, logprob: torch.Tensor, missed: torch.Tensor
) -> None:
    """Add each position's log-probability to its owner's sum (float64) and count, per owner,
    the targets that were not the argmax (scored.greedy must have been asked for), on the
    accumulators' device: no transfer where they live beside the model."""
    logprob.index_add_(0, owners, scored.logprobs.to(logprob.device))
    if scored.greedy is not None:
        missed.index_add_(0, owners, (~scored.greedy).long().to(missed.device))


def _target_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    picked = logits.gather(-1, targets[:, None]).squeeze(-1)
    return (picked - logits.logsumexp(-1)).double()


@torch.inference_mode()
def _split_matches(model: Any) -> bool:
    """Whether head(decoder(x)) reproduces the model's logits on a short probe."""
    try:
        decoder = model.get_decoder()
        head = model.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        return False
    if decoder is None or head is None:
        return False
    device = head.weight.device
    vocab = int(head.weight.shape[0])
    ids = (torch.arange(1, 9, device=device) * 7919 % vocab)[None, :]
    try:
        whole = model(input_ids=ids, use_cache=False).logits.float()
        split = head(decoder(input_ids=ids, use_cache=False).last_hidden_state).float()
    except (TypeError, ValueError, RuntimeError):
        return False
    scale = float(whole.abs().max()) or 1.0
    return bool(split.shape == whole.shape and (split - whole).abs().max() <= 1e-4 * scale)
