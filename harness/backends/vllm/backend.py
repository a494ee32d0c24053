"""The vllm backend: vLLM's offline `LLM` in this process, continuously batched.

Scoring follows the other engines' conventions exactly (the shared `context_item` and
`text_windows`, the same prefix token, the tokenizer's encoding without added special
tokens), so a task's numbers compare across engines. Each kind is one `LLM.generate` call
over all its requests: scoring asks vLLM for the prompt's log-probabilities (each prompt
position's log P(token | earlier tokens) and the token's rank), generation decodes greedily.
vLLM keeps each request's own timestamps, so latencies are per request.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from harness.backends.base import Backend, BackendInfo, LatencyScope, Progress
from harness.backends.items import Item, context_item, item_response
from harness.backends.resolved import ResolvedConfig
from harness.backends.vllm.engine import use_tqdm, weights_of
from harness.backends.vllm.options import VLLMOptions
from harness.backends.vllm.resolved import vllm_resolved
from harness.backends.windows import text_windows
from harness.core.errors import UserError
from harness.core.perf_names import PerfName
from harness.core.perf_specs import Kernels, Scope
from harness.core.requests import (
    Generate,
    GenerateResponse,
    LogLikelihood,
    LogLikelihoodResponse,
    RollingLogLikelihood,
    RollingResponse,
)
from harness.core.values import Scalar
from harness.hardware.shapes import DTYPE_BYTES, ModelShape, config_widths, config_windows
from harness.variants.facts import Fact, KernelsUsed, Measure, Note, TransformFacts

# vLLM refuses a prompt that fills its context (it must generate at least one token after
# it), and a scored item is the window plus its last target: max_model_len - 2 fits.
ROOM_FOR_SAMPLED_TOKEN = 2


class VLLMBackend(Backend):
    # Every request has its own queued, first-token and last-token timestamps.
    latency_scope: ClassVar[LatencyScope] = Scope.PER_REQUEST

    def __init__(
        self,
        name: str,
        source: str,
        llm: Any,
        options: VLLMOptions,
        device: str,
        restore: Callable[[], None] = lambda: None,
    ) -> None:
        self.llm: Any | None = llm
        self.restore = restore  # undoes what vLLM changed in this process (torch threads)
        self.tokenizer = llm.get_tokenizer()
        config = llm.llm_engine.model_config
        self.hf_config = config.hf_config
        self.max_model_len = int(config.max_model_len)
        room = self.max_model_len - ROOM_FOR_SAMPLED_TOKEN
        self.max_length = min(options.max_length or room, room)
        tok = self.tokenizer
        self.prefix_id = int(tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id)
        workers = llm.apply_model(weights_of)
        self.linear_params = workers[0].linear_params
        tp = options.tensor_parallel_size
        dtype = str(config.dtype).removeprefix("torch.")
        self.info = BackendInfo(
            model=name,
            source=source,
            n_params=workers[0].n_params,
            dtype=dtype,
            device=device if tp == 1 else f"{device} ({tp}-way tensor parallel)",
            weight_bytes=sum(w.weight_bytes for w in workers),
            max_length=self.max_length,
            details=_details(llm, config),
        )
        facts: list[Fact] = [Note("engine", f"vLLM {_version()} (offline LLM, in process)")]
        if options.quant is not None:
            bits = 8 * self.info.weight_bytes / max(self.info.n_params, 1)
            facts += [KernelsUsed(Kernels.REAL), Measure(PerfName.BITS_PER_WEIGHT, bits, "bits")]
        self.load_details = TransformFacts.of(*facts)
        # Read now: the engine config goes with the engine when `close` frees it.
        self._resolved = vllm_resolved(llm, options, device, self.max_length, self.info.details)

    def resolved(self) -> ResolvedConfig:
        return self._resolved

    # ---- helpers -------------------------------------------------------------------------
    @property
    def engine(self) -> Any:
        if self.llm is None:
            raise UserError(f"model '{self.info.model}': its vLLM engine was closed")
        return self.llm

    def encode(self, text: str) -> list[int]:
        """As the hf backend encodes: no BOS added, special tokens in the text recognised."""
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))

    def apply_transform(self, knob: str, value: Scalar) -> TransformFacts:
        """`quant` chose how vLLM loaded the weights (its facts are in load_details)."""
        if knob == "quant":
            return TransformFacts()
        return super().apply_transform(knob, value)

    def model_shape(self) -> ModelShape | None:
        """From the model's config and the Linear layers vLLM built (their logical shapes)."""
        config = self.hf_config
        width, kv_width = config_widths(config)
        head = int(config.vocab_size) * int(config.hidden_size)
        return ModelShape(
            layers=int(getattr(config, "num_hidden_layers", 0) or 0),
            attention_width=width,
            kv_width=kv_width,
            body_params=self.linear_params,
            head_params=head,
            windows=config_windows(config),
            kv_bytes_per_element=DTYPE_BYTES.get(self.info.dtype, 4.0),
            source="the model config and vLLM's Linear layers",
        )

    @property
    def peak_device(self) -> str | None:
        # Tensor parallel: the work is split across GPUs, no one device's peaks hold it.
        return self.info.device if self.info.device in ("cpu", "cuda") else None

    def close(self) -> None:
        """Free the engine (weights, KV cache) so the next variant has the memory."""
        if self.llm is None:
            return
        core = getattr(self.llm.llm_engine, "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        self.llm = None
        gc.collect()
        self.restore()

    def _prompt_scores(
        self, prompts: Sequence[list[int]], progress: Progress | None
    ) -> list[list[tuple[float, int]]]:
        """(log-probability, rank) of every prompt token after the first, given those before
        it: one batched call, vLLM's prompt_logprobs (0: the prompt's own token only)."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0, detokenize=False)
        outs = self.engine.generate(
            [TokensPrompt(prompt_token_ids=list(p)) for p in prompts],
            params,
            use_tqdm=use_tqdm(progress),
        )
        scores = []
        for prompt, out in zip(prompts, outs, strict=True):
            rows = out.prompt_logprobs[1:]
            scores.append(
                [
                    (float(r[t].logprob), int(r[t].rank))
                    for t, r in zip(prompt[1:], rows, strict=True)
                ]
            )
        return scores

    # ---- the three request kinds ---------------------------------------------------------
    def loglikelihood(
        self, reqs: Sequence[LogLikelihood], progress: Progress | None = None
    ) -> list[LogLikelihoodResponse]:
        items: list[Item] = [
            context_item(self.encode, self.prefix_id, self.max_length, r.context, r.continuation)
            for r in reqs
        ]
        scores = self._prompt_scores([tokens for tokens, _ in items], progress)
        out = []
        for (tokens, n_scored), rows in zip(items, scores, strict=True):
            scored = rows[-n_scored:]
            logprob = sum(lp for lp, _ in scored)
            greedy = all(rank == 1 for _, rank in scored)
            # vLLM runs every prompt token and samples one more: all of them are computed.
            out.append(item_response((tokens, n_scored), logprob, greedy, len(tokens), len(tokens)))
        return out

    def loglikelihood_rolling(
        self, reqs: Sequence[RollingLogLikelihood], progress: Progress | None = None
    ) -> list[RollingResponse]:
        prompts: list[list[int]] = []
        owners: list[tuple[int, int]] = []  # (request, targets scored by this window)
        counts = []
        for index, req in enumerate(reqs):
            seq, windows = text_windows(req, self.prefix_id, self.encode, self.max_length)
            counts.append(len(seq) - 1)
            for w in windows:
                # Input seq[start:end] predicts seq[start+1 : end+1]; a prompt's log-probs are
                # of its own tokens, so the prompt is the window and its last target.
                prompts.append(seq[w.start : w.end + 1])
                owners.append((index, w.n_scored))
        totals, computed = [0.0] * len(reqs), [0] * len(reqs)
        for prompt, (owner, n_scored), rows in zip(
            prompts, owners, self._prompt_scores(prompts, None), strict=True
        ):
            totals[owner] += sum(lp for lp, _ in rows[-n_scored:])
            computed[owner] += len(prompt)
        if progress:
            progress(len(reqs))
        return [
            RollingResponse(logprob=t, n_tokens=n, n_computed=c, n_logits=c)
            for t, n, c in zip(totals, counts, computed, strict=True)
        ]

    def generate(
        self, reqs: Sequence[Generate], progress: Progress | None = None
    ) -> list[GenerateResponse]:
        from harness.backends.vllm.generate import generate_greedy

        return generate_greedy(self, reqs, progress)


def _details(llm: Any, config: Any) -> dict[str, Scalar]:
    cache = llm.llm_engine.vllm_config.cache_config
    scheduler = llm.llm_engine.vllm_config.scheduler_config
    details: dict[str, Scalar] = {
        "architecture": str((getattr(config.hf_config, "architectures", None) or ["?"])[0]),
        "vocab_size": int(config.hf_config.vocab_size),
        "max_model_len": int(config.max_model_len),
        "max_num_seqs": int(scheduler.max_num_seqs),
        "max_num_batched_tokens": int(scheduler.max_num_batched_tokens),
        "enforce_eager": bool(config.enforce_eager),
        "prefix_caching": bool(cache.enable_prefix_caching),
        "quantization": str(config.quantization or "none"),
        "vllm": _version(),
    }
    if cache.kv_cache_memory_bytes:  # on a GPU without the option, vLLM sizes it by profiling
        details["kv_cache_bytes"] = int(cache.kv_cache_memory_bytes)
    return details


def _version() -> str:
    import vllm

    return str(vllm.__version__)
