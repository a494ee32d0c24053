"""Send a task's requests to a backend, batched per request kind, and route answers back."""

from __future__ import annotations

from collections.abc import Sequence

from harness.backends.base import Backend, Progress
from harness.core.requests import (
    Embed,
    Generate,
    GenerateResponse,
    LogLikelihood,
    Request,
    Response,
    RollingLogLikelihood,
    token_counts,
)
from harness.profilers.base import Work
from harness.run.level import serve_level
from harness.suite.schema import LoadLevelConfig


def _answer(
    backend: Backend, batch: Sequence[Request], progress: Progress | None
) -> list[Response]:
    """One backend call for a batch of requests of one kind."""
    if all(isinstance(r, LogLikelihood) for r in batch):
        return [
            *backend.loglikelihood([r for r in batch if isinstance(r, LogLikelihood)], progress)
        ]
    if all(isinstance(r, RollingLogLikelihood) for r in batch):
        rolling = [r for r in batch if isinstance(r, RollingLogLikelihood)]
        return [*backend.loglikelihood_rolling(rolling, progress)]
    if all(isinstance(r, Embed) for r in batch):
        return [*backend.embed([r for r in batch if isinstance(r, Embed)], progress)]
    return [*backend.generate([r for r in batch if isinstance(r, Generate)], progress)]


def dispatch(
    backend: Backend,
    per_sample: Sequence[Sequence[Request]],
    progress: Progress | None = None,
    level: LoadLevelConfig | None = None,
) -> tuple[list[list[Response]], Work]:
    """One backend call per request kind; responses regrouped per sample, in order. With a
    served load level's minimums, generation requests are cycled until they are met
    (`harness.run.level`): the first answers are routed to the samples, every answer counts
    in the window's work."""
    slots: dict[type[Request], list[tuple[int, int]]] = {}
    for s, requests in enumerate(per_sample):
        for r, request in enumerate(requests):
            slots.setdefault(type(request), []).append((s, r))
    answers: list[list[Response | None]] = [[None] * len(reqs) for reqs in per_sample]
    work = Work(backend=backend, n_samples=len(per_sample))
    n_requests = sum(len(reqs) for reqs in per_sample)
    for kind, where in slots.items():
        batch = [per_sample[s][r] for s, r in where]
        generations = [r for r in batch if isinstance(r, Generate)]
        if level is not None and kind is Generate:
            responses: list[Response] = [*serve_level(backend, generations, level, progress)]
            # the repeats answered samples too: as many as their share of the requests
            work.n_samples += round((len(responses) - len(batch)) * len(per_sample) / n_requests)
        else:
            responses = _answer(backend, batch, progress)
        for (s, r), response in zip(where, responses[: len(batch)], strict=True):
            answers[s][r] = response
        _count(work, responses)
    return [[a for a in row if a is not None] for row in answers], work


def _count(work: Work, responses: Sequence[Response]) -> None:
    """Tokens in, run, through the output head and out, per request (`token_counts`)."""
    work.responses.extend(responses)
    for response in responses:
        work.n_requests += 1
        counts = token_counts(response)
        work.input_tokens += counts.inputs
        work.input_lengths.append(counts.inputs)
        work.computed_tokens += counts.computed
        work.logit_tokens += counts.logits
        work.output_tokens += counts.out
        if isinstance(response, GenerateResponse):
            _count_timing(work, response)


def _count_timing(work: Work, response: GenerateResponse) -> None:
    if response.latency_s is not None:
        work.latencies_s.append(response.latency_s)
    if response.ttft_s is not None:
        work.ttfts_s.append(response.ttft_s)
    if response.decode_steps is not None:
        work.decode_steps.append(response.decode_steps)


def warmup(backend: Backend, per_sample: Sequence[Sequence[Request]]) -> float | None:
    """One small request of each kind, outside the measured window (caches, lazy init), then
    whatever the engine prepares for the unit's generation shapes (a compiled decode step):
    the seconds that preparation took, or None."""
    seen: set[type[Request]] = set()
    for requests in per_sample:
        for request in requests:
            if type(request) in seen:
                continue
            seen.add(type(request))
            if isinstance(request, Generate):
                request = Generate(request.prompt[-200:], 2, request.stop)
            elif isinstance(request, RollingLogLikelihood):
                request = RollingLogLikelihood(request.text[:200], 64)
            _answer(backend, [request], None)
    generations = [r for requests in per_sample for r in requests if isinstance(r, Generate)]
    return backend.prepare_generation(generations)
