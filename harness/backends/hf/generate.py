"""Batched greedy generation for the transformers backend: left padding, stop sequences,
and a time-to-first-token clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any, ClassVar

import torch
from transformers import StoppingCriteria

from harness.backends.base import Backend, BackendInfo, LatencyScope, Progress
from harness.backends.hf.decode_modes import DecodeMode, bucketed_width, generate_kwargs
from harness.backends.stops import cut_at_stop
from harness.core.errors import UserError
from harness.core.perf_specs import Scope
from harness.core.requests import Generate, GenerateResponse


class FirstTokenClock(StoppingCriteria):
    """Never stops generation; notes when the first new token exists (end of prefill)."""

    def __init__(self, synchronize: Callable[[], None]) -> None:
        self.synchronize = synchronize
        self.synchronize()
        self.started = time.perf_counter()
        self.first_token_s: float | None = None

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> torch.Tensor:
        if self.first_token_s is None:
            self.synchronize()
            self.first_token_s = time.perf_counter() - self.started
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


class StopOnStrings(StoppingCriteria):
    """Marks a row finished once its new text holds a stop string after its first non-blank
    character (transformers' own stop_strings would also stop on a leading newline)."""

    def __init__(self, tokenizer: Any, prompt_width: int, stops: tuple[str, ...]) -> None:
        self.tokenizer = tokenizer
        self.prompt_width = prompt_width
        self.stops = stops
        self.done: torch.Tensor | None = None

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> torch.Tensor:
        if self.done is None:
            self.done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        if not self.stops:
            return self.done
        new = input_ids[:, self.prompt_width :].tolist()
        for row, tokens in enumerate(new):
            if not bool(self.done[row]):
                text = self.tokenizer.decode(tokens, skip_special_tokens=True)
                if cut_at_stop(text, self.stops) != text:
                    self.done[row] = True
        return self.done.clone()


class MaxNewTokens(StoppingCriteria):
    """Stops every row after n new tokens: a warm-up with the real cache length (the static
    cache's shape is the prompt width plus max_new_tokens) that runs only a few steps."""

    def __init__(self, prompt_width: int, n: int) -> None:
        self.limit = prompt_width + n

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> torch.Tensor:
        done = input_ids.shape[1] >= self.limit
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


PREPARE_STEPS = 3  # decode steps per batch shape in the warm-up: the compiled step runs


class HFGeneration(Backend):
    """What the transformers engine's request kinds share (its model, tokenizer, device and
    text encoding), and the `generate` request kind; HFBackend sets these attributes."""

    # A batch decodes in lock-step: its first token and its end come at one moment for all
    # rows, so every row carries its batch's TTFT and latency (the record says so).
    latency_scope: ClassVar[LatencyScope] = Scope.PER_BATCH

    model: Any
    tokenizer: Any
    device: torch.device
    batch_size: int
    decode_mode: DecodeMode
    pad_id: int
    info: BackendInfo

    def encode(self, text: str) -> list[int]:
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def generate(
        self, reqs: Sequence[Generate], progress: Progress | None = None
    ) -> list[GenerateResponse]:
        results: list[GenerateResponse | None] = [None] * len(reqs)
        prompt_ids = [self._prompt_ids(r) for r in reqs]
        for batch in self._batches(reqs, prompt_ids):
            for i, response in zip(
                batch, self._generate_batch(reqs, prompt_ids, batch), strict=True
            ):
                results[i] = response
            if progress:
                progress(len(batch))
        return [r for r in results if r is not None]

    def _batches(self, reqs: Sequence[Generate], prompt_ids: list[list[int]]) -> list[list[int]]:
        """Requests of equal length limit and stops, longest prompt first, in batches."""

        def key(i: int) -> tuple[int, tuple[str, ...], int]:
            return (reqs[i].max_new_tokens, reqs[i].stop, -len(prompt_ids[i]))

        order = sorted(range(len(reqs)), key=key)
        out = []
        for _, group in groupby(order, key=lambda i: (reqs[i].max_new_tokens, reqs[i].stop)):
            indices = list(group)
            out += [
                indices[s : s + self.batch_size] for s in range(0, len(indices), self.batch_size)
            ]
        return out

    def prepare_generation(self, reqs: Sequence[Generate]) -> float | None:
        """Compile (or allocate) the decode step for every batch shape the unit will run, a
        few steps each, before the measured window; the seconds it took, or None when the
        mode has nothing to prepare."""
        if self.decode_mode == "dynamic" or not reqs:
            return None
        prompt_ids = [self._prompt_ids(r) for r in reqs]
        shapes: dict[tuple[int, int, int], list[int]] = {}
        for batch in self._batches(reqs, prompt_ids):
            width = bucketed_width(max(len(prompt_ids[i]) for i in batch), self.decode_mode)
            shapes.setdefault((len(batch), width, reqs[batch[0]].max_new_tokens), batch)
        started = time.perf_counter()
        for batch in shapes.values():
            self._generate_batch(reqs, prompt_ids, batch, stop_after=PREPARE_STEPS)
        self.synchronize()
        return time.perf_counter() - started

    def _prompt_ids(self, request: Generate) -> list[int]:
        if not request.chat:
            ids: list[int] = self.tokenizer(request.prompt)["input_ids"]
            return ids
        if not getattr(self.tokenizer, "chat_template", None):
            raise UserError(
                f"model '{self.info.model}' has no chat template; "
                "set the task's options.chat to false"
            )
        text = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": request.prompt}],
            tokenize=False,
            add_generation_prompt=True,
        )
        return self.encode(text)

    @torch.inference_mode()
    def _generate_batch(
        self,
        reqs: Sequence[Generate],
        prompt_ids: list[list[int]],
        batch: list[int],
        stop_after: int | None = None,
    ) -> list[GenerateResponse]:
        width = bucketed_width(max(len(prompt_ids[i]) for i in batch), self.decode_mode)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, i in enumerate(batch):  # left padding: the last position is the last token
            ids[row, width - len(prompt_ids[i]) :] = torch.tensor(prompt_ids[i])
            mask[row, width - len(prompt_ids[i]) :] = 1
        request = reqs[batch[0]]
        stops: list[StoppingCriteria] = [StopOnStrings(self.tokenizer, width, request.stop)]
        if stop_after is not None:
            stops = [MaxNewTokens(width, stop_after)]
        clock = FirstTokenClock(self.synchronize)
        out = self.model.generate(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            max_new_tokens=request.max_new_tokens,
            do_sample=False,
            pad_token_id=self.pad_id,
            stopping_criteria=[clock, *stops],
            **generate_kwargs(self.decode_mode, self.device.type),
        )
        self.synchronize()
        elapsed = time.perf_counter() - clock.started
        new = out[:, width:].tolist()
        steps = out.shape[1] - width
        responses = []
        for row, i in enumerate(batch):
            tokens = [t for t in new[row] if t != self.pad_id]
            text = cut_at_stop(
                self.tokenizer.decode(tokens, skip_special_tokens=True), request.stop
            )
            responses.append(
                GenerateResponse(
                    text=text,
                    n_in=len(prompt_ids[i]),
                    n_out=len(tokens),
                    ttft_s=clock.first_token_s,
                    latency_s=elapsed,
                    decode_steps=steps,
                )
            )
        return responses
