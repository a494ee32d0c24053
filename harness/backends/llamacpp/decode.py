"""Feed tokens to a llama.cpp context and read back the logits of chosen positions.

llama-cpp-python's `Llama.eval` keeps logits for every position (`logits_all`, an n_ctx x
vocab float array) or only the last one. Scoring needs the logits of the scored positions only,
so this fills llama.cpp's batch itself and flags just those positions for output, like the HF
backend's `logits_to_keep`. The KV cache keeps the previous sequence: a new one reuses the
longest common prefix that needs no logits (continuations of one context, the next step of
generation), and the tokens actually run are reported for honest FLOP and token counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class Decoder:
    def __init__(self, llama: Any) -> None:
        # llama-cpp-python's context and batch objects (its own wrappers of the C structs).
        self.ctx = llama._ctx
        self.batch = llama._batch
        self.n_batch = int(llama.n_batch)
        self.n_vocab = int(llama.n_vocab())
        self.cached: list[int] = []

    def forget(self) -> None:
        self.ctx.kv_cache_clear()
        self.cached = []

    def _reusable(self, tokens: Sequence[int], first_logit: int) -> int:
        keep = 0
        limit = min(len(self.cached), first_logit)
        while keep < limit and self.cached[keep] == tokens[keep]:
            keep += 1
        # Always drop what lies past the reused prefix (also entries left by others' evals).
        if not self.ctx.kv_cache_seq_rm(0, keep, -1):
            self.ctx.kv_cache_clear()
            keep = 0
        return keep

    def logits(self, tokens: Sequence[int], first_logit: int) -> tuple[np.ndarray, int]:
        """(logits of positions first_logit..len(tokens)-1, tokens run through the model).

        Row i of the result predicts tokens[first_logit + i + 1].
        """
        keep = self._reusable(tokens, first_logit)
        self.cached = list(tokens[:keep])
        rows: list[np.ndarray] = []
        for start in range(keep, len(tokens), self.n_batch):
            chunk = tokens[start : start + self.n_batch]
            n_out = self._fill(chunk, start, first_logit)
            self.ctx.decode(self.batch)
            self.cached.extend(chunk)
            if n_out:
                out = np.ctypeslib.as_array(self.ctx.get_logits(), shape=(n_out * self.n_vocab,))
                rows.append(out.reshape(n_out, self.n_vocab).copy())
        return np.concatenate(rows), len(tokens) - keep

    def _fill(self, chunk: Sequence[int], start: int, first_logit: int) -> int:
        batch = self.batch.batch
        batch.n_tokens = len(chunk)
        flagged = 0
        for i, token in enumerate(chunk):
            batch.token[i] = token
            batch.pos[i] = start + i
            batch.seq_id[i][0] = 0
            batch.n_seq_id[i] = 1
            wanted = start + i >= first_logit
            batch.logits[i] = wanted
            flagged += wanted
        return flagged


def log_softmax_at(
    logits: np.ndarray, targets: Sequence[int], rows_per_step: int = 64
) -> tuple[float, bool]:
    """(summed log-probability of the targets, whether each was the argmax).

    Rows go in small groups so a 512-position window never needs a second vocab-wide copy of
    its logits; sums are accumulated in float64.
    """
    wanted = np.asarray(targets)
    total, greedy = 0.0, True
    for start in range(0, len(wanted), rows_per_step):
        rows = logits[start : start + rows_per_step]
        goal = wanted[start : start + rows_per_step]
        top = rows.max(axis=1)
        norm = np.log(np.exp(rows - top[:, None]).sum(axis=1, dtype=np.float64)) + top
        total += float((rows[np.arange(len(goal)), goal] - norm).sum())
        greedy = greedy and bool((rows.argmax(axis=1) == goal).all())
    return total, greedy


def top_k_rows(logits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids int32 [n, k], log-probabilities float32 [n, k]) of each row's k most likely
    tokens, most likely first; normalised over the whole row in float64."""
    k = min(k, logits.shape[1])
    top = np.argpartition(-logits, k - 1, axis=1)[:, :k]
    picked = np.take_along_axis(logits, top, axis=1).astype(np.float64)
    peak = logits.max(axis=1, keepdims=True).astype(np.float64)
    norm = np.log(np.exp(logits - peak).sum(axis=1, keepdims=True, dtype=np.float64)) + peak
    order = np.argsort(-picked, axis=1, kind="stable")
    ids = np.take_along_axis(top, order, axis=1).astype(np.int32)
    return ids, (np.take_along_axis(picked, order, axis=1) - norm).astype(np.float32)
