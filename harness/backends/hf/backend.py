"""The transformers backend: batched, length-sorted, one forward per batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.backends.base import BackendInfo, Progress
from harness.backends.hf.decode_modes import resolve_mode
from harness.backends.hf.generate import HFGeneration
from harness.backends.hf.head import ChunkedHead
from harness.backends.hf.options import HFOptions
from harness.backends.hf.scoring import ItemScore, RowScorer
from harness.backends.items import context_item, item_response
from harness.backends.resolved import ResolvedConfig, imported_versions, known
from harness.backends.windows import text_windows
from harness.core.perf_names import PerfName
from harness.core.requests import (
    LogLikelihood,
    LogLikelihoodResponse,
    RollingLogLikelihood,
    RollingResponse,
    TopTokens,
)
from harness.core.values import Scalar
from harness.hardware.params import count_params, weight_bytes
from harness.variants.facts import Measure, Note, TransformFacts

Item = tuple[list[int], int]  # (tokens: input followed by the last target, n_scored)
# The libraries whose versions shape this engine's numbers (recorded where imported).
LIBRARIES = ("torch", "transformers", "accelerate", "peft", "bitsandbytes")


class HFBackend(HFGeneration):
    def __init__(
        self,
        name: str,
        source: str,
        model: Any,
        tokenizer: Any,
        options: HFOptions,
        base_dir: Path | None = None,
    ) -> None:
        self.model = model
        self.options = options
        self.base_dir = base_dir or Path.cwd()  # where relative knob paths (adapter) start
        self.tokenizer = tokenizer
        self.device = next(model.parameters()).device
        context = int(getattr(model.config, "max_position_embeddings", 2048) or 2048)
        self.max_length = min(options.max_length or context, context)
        self.decode_mode = resolve_mode(options.decode, self.device.type)
        self.share_context = options.share_context
        eos = tokenizer.eos_token_id
        self.prefix_id = int(tokenizer.bos_token_id if tokenizer.bos_token_id is not None else eos)
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos)
        self.batch_tokens = options.batch_tokens
        if options.batch_size == "auto":
            self._probe_batch()  # sets batch_size and batch_tokens
        else:
            self.batch_size = options.batch_size
        self._build_scorer()
        vocab = self.head.vocab
        params = list(model.parameters())
        self.info = BackendInfo(
            model=name,
            source=source,
            n_params=count_params(params),
            dtype=str(next(iter(params)).dtype).removeprefix("torch."),
            device=str(self.device),
            weight_bytes=weight_bytes(model),
            max_length=self.max_length,
            details={
                "architecture": type(model).__name__,
                "vocab_size": vocab,
                "decode": self.decode_mode,
            },
        )

    @property
    def torch_model(self) -> Any:
        return self.model

    def resolved(self) -> ResolvedConfig:
        """Every option as it ran: dtype and device read back from the loaded weights (before
        any transform), threads from torch, auto batch sizes and the decode mode chosen."""
        import torch

        ran = {
            **self.options.model_dump(),
            "dtype": self.info.dtype,
            "device": self.info.device,
            "threads": torch.get_num_threads(),
            "batch_size": self.batch_size,
            "batch_tokens": self.batch_tokens,
            "max_length": self.max_length,
            "decode": self.decode_mode,
        }
        return ResolvedConfig(
            dtype=self.info.dtype,
            device=self.info.device,
            options=known(ran),
            reported={"architecture": type(self.model).__name__, "vocab_size": self.head.vocab},
            libraries=imported_versions(LIBRARIES),
        )

    def _probe_batch(self) -> None:
        """`batch_size: auto`: rows and a token budget probed on this device, recorded."""
        from harness.backends.hf.auto_batch import probe

        chosen = probe(self.model, self.device, self.max_length)
        self.batch_size, self.batch_tokens = chosen.batch_size, chosen.batch_tokens
        self.load_details = TransformFacts.of(
            Measure(PerfName.BATCH_SIZE_CHOSEN, chosen.batch_size, "req"),
            Measure(PerfName.BATCH_TOKENS_CHOSEN, chosen.batch_tokens, "tokens"),
            Note("batch_size_auto", chosen.how),
        )

    def apply_transform(self, knob: str, value: Scalar) -> TransformFacts:
        from harness.backends.hf.adapter import apply_adapter
        from harness.backends.hf.prune import drop_middle, magnitude_prune, truncate
        from harness.backends.shared_transformers.quantize import apply_quant

        transforms: dict[str, Callable[[], TransformFacts]] = {
            "layers": lambda: truncate(self, value),
            "drop_middle": lambda: drop_middle(self, value),
            "sparsity": lambda: magnitude_prune(self, value),
            "quant": lambda: apply_quant(self, str(value)),
            "adapter": lambda: apply_adapter(self, str(value), self.base_dir),
        }
        if knob not in transforms:
            return super().apply_transform(knob, value)
        facts = transforms[knob]()
        if knob in ("layers", "drop_middle"):
            self._own_kept_weights()
        return facts

    def _own_kept_weights(self) -> None:
        """Copy the weights a truncation kept out of the loaded file's memory map.

        Safetensors weights are views of one mapping of the whole file; while any kept
        layer references it, the dropped layers' pages stay resident, so a model holding
        12 of 30 layers peaked above the full one. A deployed truncated model holds only
        its own layers, and so does this copy (done at load, outside every measurement).
        """
        import torch

        with torch.no_grad():
            for tensor in (*self.model.parameters(), *self.model.buffers()):
                tensor.data = tensor.data.clone()

    def refresh_info(self) -> None:
        """After a transform: the bytes the weights now occupy (n_params stays the original
        count; the transform reports the effective one)."""
        self.info = replace(self.info, weight_bytes=weight_bytes(self.model))
        self._build_scorer()  # a transform may have changed what the forward computes

    def _build_scorer(self) -> None:
        self.head = ChunkedHead(self.model)
        self.scorer = RowScorer(
            self.model, self.pad_id, self.batch_size, self.batch_tokens, self.head
        )

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))

    # ---- the three request kinds ---------------------------------------------------------
    def loglikelihood(
        self, reqs: Sequence[LogLikelihood], progress: Progress | None = None
    ) -> list[LogLikelihoodResponse]:
        items = [self._context_item(r.context, r.continuation) for r in reqs]
        scores = self._score_with_sharing(items, progress)
        return [
            item_response(item, s.logprob, s.greedy, s.computed, s.logits)
            for s, item in zip(scores, items, strict=True)
        ]

    def _score_with_sharing(
        self, items: Sequence[Item], progress: Progress | None
    ) -> list[ItemScore]:
        """Multi-token continuations of one context share its KV cache; everything else is
        batched across samples by the row scorer (where single-token continuations of one
        context already share one forward)."""
        from harness.backends.hf.shared import score_shared, shared_groups

        multi = [i for i, (_, n_scored) in enumerate(items) if n_scored > 1]
        groups = shared_groups([items[i] for i in multi]) if self.share_context else {}
        results: dict[int, ItemScore] = {}
        step = max(self.batch_size, 2)
        for context, members in groups.items():
            members = [multi[i] for i in members]
            for start in range(0, len(members), step):
                chunk = members[start : start + step]
                conts = [items[i][0][len(context) :] for i in chunk]
                scored = score_shared(self.head, self.pad_id, context, conts)
                for place, (index, (lp, greedy)) in enumerate(zip(chunk, scored, strict=True)):
                    cont = len(items[index][0]) - len(context)
                    computed = cont + (len(context) - 1 if place == 0 else 0)
                    results[index] = ItemScore(lp, greedy, computed, cont)
            if progress:
                progress(len(members))
        rest = [i for i in range(len(items)) if i not in results]
        scored_rest = self.scorer.score([items[i] for i in rest], True, progress)
        results.update(zip(rest, scored_rest, strict=True))
        return [results[i] for i in range(len(items))]

    def _context_item(self, context: str, continuation: str) -> Item:
        return context_item(self.encode, self.prefix_id, self.max_length, context, continuation)

    def loglikelihood_rolling(
        self, reqs: Sequence[RollingLogLikelihood], progress: Progress | None = None
    ) -> list[RollingResponse]:
        items: list[Item] = []
        owners: list[int] = []
        counts: list[int] = []
        for index, req in enumerate(reqs):
            seq, windows = text_windows(req, self.prefix_id, self.encode, self.max_length)
            counts.append(len(seq) - 1)
            for w in windows:
                items.append((seq[w.start : w.end + 1], w.n_scored))
                owners.append(index)
        totals = [0.0] * len(reqs)
        computed = [0] * len(reqs)
        logits = [0] * len(reqs)
        # is_greedy has no use for a perplexity, so the argmax is never taken.
        for owner, score in zip(owners, self.scorer.score(items, False), strict=True):
            totals[owner] += score.logprob
            computed[owner] += score.computed
            logits[owner] += score.logits
        if progress:
            progress(len(reqs))
        return [
            RollingResponse(logprob=t, n_tokens=n, n_computed=c, n_logits=k)
            for t, n, c, k in zip(totals, counts, computed, logits, strict=True)
        ]

    def top_tokens(self, reqs: Sequence[RollingLogLikelihood], k: int) -> list[TopTokens]:
        from harness.backends.hf.top_tokens import window_top_tokens

        out = []
        for req in reqs:
            seq, windows = text_windows(req, self.prefix_id, self.encode, self.max_length)
            out.append(window_top_tokens(self.model, self.head, seq, windows, k))
        return out
