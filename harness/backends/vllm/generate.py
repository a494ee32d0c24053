"""Greedy generation on vLLM: every request in one continuously batched call, each with its
own stops and length, and its own TTFT, latency and decode steps from vLLM's timestamps.

Stops follow `stops.cut_at_stop`: a stop counts only after the first non-blank character,
so a model that opens with a newline is not cut to nothing by a newline stop. vLLM stops at
the first occurrence anywhere; a request it cut to blank text is therefore run again without
its stops and cut here (rare: the shipped tasks' prompts end where a word follows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harness.backends.base import Progress
from harness.backends.stops import cut_at_stop
from harness.backends.vllm.engine import request_times, use_tqdm
from harness.core.errors import UserError
from harness.core.requests import Generate, GenerateResponse

if TYPE_CHECKING:
    from harness.backends.vllm.backend import VLLMBackend


def prompt_ids(backend: VLLMBackend, req: Generate) -> list[int]:
    """The prompt's tokens as the hf backend builds them: the tokenizer's own special tokens
    for a plain prompt; for a chat turn the chat template, then no added ones."""
    tok = backend.tokenizer
    if not req.chat:
        ids: list[int] = tok(req.prompt)["input_ids"]
        return ids
    if not getattr(tok, "chat_template", None):
        raise UserError(
            f"model '{backend.info.model}' has no chat template; "
            "set the task's options.chat to false"
        )
    text = tok.apply_chat_template(
        [{"role": "user", "content": req.prompt}], tokenize=False, add_generation_prompt=True
    )
    return backend.encode(str(text))


def _params(backend: VLLMBackend, req: Generate, n_prompt: int, stops: bool) -> Any:
    from vllm import SamplingParams

    room = backend.max_model_len - n_prompt
    if room < 1:
        raise UserError(
            f"a prompt of {n_prompt} tokens does not fit vLLM's context of "
            f"{backend.max_model_len} tokens; raise the max_model_len knob"
        )
    stop = list(req.stop) if stops and req.stop else None
    return SamplingParams(temperature=0.0, max_tokens=min(req.max_new_tokens, room), stop=stop)


def _run(
    backend: VLLMBackend,
    reqs: Sequence[Generate],
    prompts: Sequence[list[int]],
    stops: bool,
    progress: Progress | None,
) -> list[Any]:
    from vllm.inputs import TokensPrompt

    params = [_params(backend, r, len(p), stops) for r, p in zip(reqs, prompts, strict=True)]
    outs: list[Any] = backend.engine.generate(
        [TokensPrompt(prompt_token_ids=p) for p in prompts], params, use_tqdm=use_tqdm(progress)
    )
    return outs


def _cut_blank(out: Any) -> bool:
    """vLLM stopped at a stop string before any non-blank text."""
    first = out.outputs[0]
    return isinstance(first.stop_reason, str) and not first.text.strip()


def generate_greedy(
    backend: VLLMBackend, reqs: Sequence[Generate], progress: Progress | None
) -> list[GenerateResponse]:
    prompts = [prompt_ids(backend, r) for r in reqs]
    # Each call starts from an empty prefix cache: the warm-up and earlier timing repeats ran
    # these same prompts, and a cache they filled would make TTFT a cache hit. Requests of
    # one call still share their common prefixes (few-shot examples), as in a deployment.
    backend.engine.reset_prefix_cache()
    outs = _run(backend, reqs, prompts, True, progress)
    again = [i for i, out in enumerate(outs) if _cut_blank(out)]
    if again:
        redone = _run(backend, [reqs[i] for i in again], [prompts[i] for i in again], False, None)
        for i, out in zip(again, redone, strict=True):
            outs[i] = out
    return [_response(req, p, out) for req, p, out in zip(reqs, prompts, outs, strict=True)]


def _response(req: Generate, prompt: list[int], out: Any) -> GenerateResponse:
    first = out.outputs[0]
    tokens = list(first.token_ids)
    # An end token (stop_reason None, finish "stop") is not text: the other engines leave
    # it out of n_out too. It still took a decode step, which `steps` counts.
    if tokens and first.finish_reason == "stop" and first.stop_reason is None:
        tokens = tokens[:-1]
    times = request_times(out.metrics)
    return GenerateResponse(
        text=cut_at_stop(str(first.text), req.stop),
        n_in=len(prompt),
        n_out=len(tokens),
        ttft_s=times.ttft_s if times else None,
        latency_s=times.latency_s if times else None,
        decode_steps=times.steps if times else None,
    )
