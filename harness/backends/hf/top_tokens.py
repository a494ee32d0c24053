"""The k most likely next tokens at every scored position of a text, on a transformers model.

Run outside the timed windows (for a divergence against another variant), so it favours
clarity over speed: one window at a time, the output head in position chunks as in scoring
(harness.backends.hf.head), so [positions, vocab] logits never fill memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from harness.backends.hf.head import ChunkedHead
from harness.backends.windows import Window
from harness.core.requests import TopTokens


@torch.inference_mode()
def window_top_tokens(
    model: Any, head: ChunkedHead, seq: Sequence[int], windows: Sequence[Window], k: int
) -> TopTokens:
    """`seq` is the prefix token and the text's tokens; the windows cover seq[1:] once."""
    ids: list[torch.Tensor] = []
    logprobs: list[torch.Tensor] = []
    k = min(k, head.vocab)
    for window in windows:
        for logits in _scored_logits(model, head, seq, window):
            top = logits.float().log_softmax(-1).topk(k, dim=-1)
            ids.append(top.indices.to(torch.int32).cpu())
            logprobs.append(top.values.cpu())
    return TopTokens(
        targets=np.asarray(seq[1:], dtype=np.int32),
        ids=torch.cat(ids).numpy(),
        logprobs=torch.cat(logprobs).numpy().astype(np.float32),
    )


def _scored_logits(
    model: Any, head: ChunkedHead, seq: Sequence[int], window: Window
) -> Iterator[torch.Tensor]:
    """Logits of the window's last n_scored positions, at most head.chunk rows at a time."""
    device = head.head.weight.device
    inputs = torch.tensor([list(seq[window.start : window.end])], device=device)
    n = window.n_scored
    if head.split:
        positions = torch.arange(inputs.shape[1], device=device)[None, :]
        hidden = head.hidden(inputs, None, positions)[0, -n:]
        for start in range(0, n, head.chunk):
            yield head.head(hidden[start : start + head.chunk])
        return
    logits = model(input_ids=inputs, logits_to_keep=n, use_cache=False).logits[0, -n:]
    for start in range(0, n, head.chunk):
        yield logits[start : start + head.chunk]
