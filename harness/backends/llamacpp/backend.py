"""The llama.cpp backend: GGUF models on llama.cpp's own kernels, in process.

Scoring follows the transformers backend's conventions exactly (the shared `context_item` and
`rolling_windows`; the same prefix token; every token scored once), so a task's numbers
compare across the two engines. Requests run one at a time (llama.cpp's strength is batch 1 on
a CPU); generation decodes token by token, so each request has its own time to first token
and its own decode steps.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.backends.base import Backend, BackendInfo, Progress
from harness.backends.items import Item, context_item, item_response
from harness.backends.llamacpp.decode import Decoder, log_softmax_at, top_k_rows
from harness.backends.resolved import ResolvedConfig
from harness.backends.stops import cut_at_stop
from harness.backends.windows import text_windows
from harness.core.errors import UserError
from harness.core.requests import (
    Generate,
    GenerateResponse,
    LogLikelihood,
    LogLikelihoodResponse,
    RollingLogLikelihood,
    RollingResponse,
    TopTokens,
)
from harness.core.values import Scalar
from harness.hardware.shapes import ModelShape, gguf_shape
from harness.variants.facts import TransformFacts


class LlamaCppBackend(Backend):
    def __init__(
        self,
        llama: Any,
        info: BackendInfo,
        load_details: TransformFacts,
        resolved: ResolvedConfig | None = None,
    ) -> None:
        self.llama = llama
        self._resolved = resolved  # read by the factory, which knows the options asked
        self.info = info
        self.load_details = load_details
        self.decoder = Decoder(llama)
        self.max_length = info.max_length
        bos, eos = int(llama.token_bos()), int(llama.token_eos())
        self.prefix_id = bos if bos >= 0 else eos

    # ---- helpers -------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Like the HF backend's: no BOS added, special tokens in the text recognised."""
        ids: list[int] = self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return ids

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))

    def resolved(self) -> ResolvedConfig:
        return self._resolved if self._resolved is not None else super().resolved()

    def synchronize(self) -> None:
        return None  # llama_decode returns when the computation (CPU or GPU) is done

    def model_shape(self) -> ModelShape | None:
        """From the loaded GGUF file's metadata and tensor table (the level's own file)."""
        return gguf_shape(Path(self.info.source))

    def shape_unavailable(self) -> str:
        return f"the GGUF file {self.info.source} describes no transformer blocks"

    @property
    def peak_device(self) -> str | None:
        # Layers offloaded to a GPU: the work is split across two devices' peaks.
        return "cpu" if self.info.device == "cpu" else None

    def apply_transform(self, knob: str, value: Scalar) -> TransformFacts:
        """`quant` chose the file this engine loaded (its facts are in load_details): there
        is nothing left to transform. Its options declare no other transform knob."""
        if knob == "quant":
            return TransformFacts()
        return super().apply_transform(knob, value)

    def _is_end(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self.llama._model.vocab, token))

    def _score(self, item: Item) -> tuple[float, bool, int]:
        """(log-probability of the item's targets, all greedy, tokens run)."""
        tokens, n_scored = item
        inputs = tokens[:-1]
        logits, ran = self.decoder.logits(inputs, len(inputs) - n_scored)
        logprob, greedy = log_softmax_at(logits, tokens[-n_scored:])
        return logprob, greedy, ran

    # ---- the three request kinds ---------------------------------------------------------
    def loglikelihood(
        self, reqs: Sequence[LogLikelihood], progress: Progress | None = None
    ) -> list[LogLikelihoodResponse]:
        out = []
        for req in reqs:
            item = context_item(
                self.encode, self.prefix_id, self.max_length, req.context, req.continuation
            )
            out.append(item_response(item, *self._score(item)))
            if progress:
                progress(1)
        return out

    def loglikelihood_rolling(
        self, reqs: Sequence[RollingLogLikelihood], progress: Progress | None = None
    ) -> list[RollingResponse]:
        out = []
        for req in reqs:
            seq, windows = text_windows(req, self.prefix_id, self.encode, self.max_length)
            total, ran = 0.0, 0
            for w in windows:
                logprob, _, n = self._score((seq[w.start : w.end + 1], w.n_scored))
                total, ran = total + logprob, ran + n
            out.append(RollingResponse(logprob=total, n_tokens=len(seq) - 1, n_computed=ran))
            if progress:
                progress(1)
        return out

    def top_tokens(self, reqs: Sequence[RollingLogLikelihood], k: int) -> list[TopTokens]:
        import numpy as np

        out = []
        for req in reqs:
            seq, windows = text_windows(req, self.prefix_id, self.encode, self.max_length)
            ids, logprobs = [], []
            for w in windows:
                inputs = seq[w.start : w.end]
                logits, _ = self.decoder.logits(inputs, len(inputs) - w.n_scored)
                top = top_k_rows(logits, k)
                ids.append(top[0])
                logprobs.append(top[1])
            targets = np.asarray(seq[1:], dtype=np.int32)
            out.append(TopTokens(targets, np.concatenate(ids), np.concatenate(logprobs)))
        return out

    def generate(
        self, reqs: Sequence[Generate], progress: Progress | None = None
    ) -> list[GenerateResponse]:
        out = []
        for req in reqs:
            out.append(self._generate_one(req))
            if progress:
                progress(1)
        return out

    def _prompt_ids(self, req: Generate) -> list[int]:
        if not req.chat:
            ids: list[int] = self.llama.tokenize(req.prompt.encode("utf-8"), add_bos=True)
            return ids
        template = self.llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise UserError(
                f"model '{self.info.model}' has no chat template; "
                "set the task's options.chat to false"
            )
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        vocab = self.llama
        formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=vocab.detokenize([vocab.token_eos()], special=True).decode(),
            bos_token=vocab.detokenize([vocab.token_bos()], special=True).decode(),
            add_generation_prompt=True,
        )
        prompt = formatter(messages=[{"role": "user", "content": req.prompt}]).prompt
        return self.encode(prompt)

    def _generate_one(self, req: Generate) -> GenerateResponse:
        """Greedy decoding one token at a time, stopping at an end-of-generation token, a stop
        sequence (after the first non-blank character), max_new_tokens or a full context."""
        prompt = self._prompt_ids(req)
        room = self.llama.n_ctx() - len(prompt)
        if room < 1:
            raise UserError(
                f"a prompt of {len(prompt)} tokens does not fit llama.cpp's context of "
                f"{self.llama.n_ctx()} tokens; raise the n_ctx knob"
            )
        started = time.perf_counter()
        tokens, new = list(prompt), []
        first_token_s: float | None = None
        steps, text = 0, ""
        while steps < min(req.max_new_tokens, room):
            logits, _ = self.decoder.logits(tokens, len(tokens) - 1)
            token = int(logits[-1].argmax())
            steps += 1
            if first_token_s is None:
                first_token_s = time.perf_counter() - started
            if self._is_end(token):
                break
            new.append(token)
            tokens.append(token)
            text = self.llama.detokenize(new).decode("utf-8", errors="ignore")
            if req.stop and cut_at_stop(text, req.stop) != text:
                break
        return GenerateResponse(
            text=cut_at_stop(text, req.stop),
            n_in=len(prompt),
            n_out=len(new),
            ttft_s=first_token_s,
            latency_s=time.perf_counter() - started,
            decode_steps=steps,
        )
