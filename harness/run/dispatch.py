"""Send a task's requests to a backend, batched per request kind, and route answers back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.backends.base import Backend, Progress
from harness.profilers.base import Work
from harness.requests import Generate, LogLikelihood, Request, Response, RollingLogLikelihood

_METHODS: dict[type[Any], str] = {
    LogLikelihood: "loglikelihood",
    RollingLogLikelihood: "loglikelihood_rolling",
    Generate: "generate",
}


def dispatch(
    backend: Backend, per_sample: Sequence[Sequence[Request]], progress: Progress | None = None
) -> tuple[list[list[Response]], Work]:
    """One backend call per request kind; responses regrouped per sample, in order."""
    slots: dict[type[Any], list[tuple[int, int]]] = {}
    for s, requests in enumerate(per_sample):
        for r, request in enumerate(requests):
            slots.setdefault(type(request), []).append((s, r))
    answers: list[list[Response | None]] = [[None] * len(reqs) for reqs in per_sample]
    work = Work(backend=backend)
    for kind, where in slots.items():
        batch = [per_sample[s][r] for s, r in where]
        responses = getattr(backend, _METHODS[kind])(batch, progress)
        for (s, r), response in zip(where, responses, strict=True):
            answers[s][r] = response
        _count(work, responses)
    return [[a for a in row if a is not None] for row in answers], work


def _count(work: Work, responses: Sequence[Response]) -> None:
    work.responses.extend(responses)
    for response in responses:
        work.n_requests += 1
        inputs = response.n_in or response.n_tokens or 0
        computed = response.n_computed if response.n_computed is not None else inputs
        work.input_tokens += inputs
        work.input_lengths.append(inputs)
        work.computed_tokens += computed
        work.logit_tokens += response.n_logits if response.n_logits is not None else computed
        work.output_tokens += response.n_out or 0
        if response.latency_s is not None:
            work.latencies_s.append(response.latency_s)
        if response.ttft_s is not None:
            work.ttfts_s.append(response.ttft_s)
        if response.decode_steps is not None:
            work.decode_steps.append(response.decode_steps)


def warmup(backend: Backend, per_sample: Sequence[Sequence[Request]]) -> None:
    """One small request of each kind, outside the measured window (caches, lazy init)."""
    seen: set[type[Any]] = set()
    for requests in per_sample:
        for request in requests:
            if type(request) in seen:
                continue
            seen.add(type(request))
            if isinstance(request, Generate):
                request = Generate(request.prompt[-200:], 2, request.stop)
            elif isinstance(request, RollingLogLikelihood):
                request = RollingLogLikelihood(request.text[:200], 64)
            getattr(backend, _METHODS[type(request)])([request], None)
