"""The per-sample rows of a unit: what the model was asked, the gold answer, what it said.

A row carries the rendered prompt (few-shot block included) and the gold answer, so a person
reading samples.jsonl can see why a task scores what it does without re-running anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import JsonValue

from harness.adapters.base import Adapter
from harness.core.requests import (
    Embed,
    Generate,
    LogLikelihood,
    Request,
    Response,
    RollingLogLikelihood,
)
from harness.data import Sample
from harness.run.plan import PreparedTask
from harness.store.runfiles import SampleRow


def prompt_of(requests: Sequence[Request]) -> tuple[str | None, list[str] | None]:
    """The prompt the requests share and, for log-likelihood requests, their continuations."""
    if not requests:
        return None, None
    first = requests[0]
    if isinstance(first, Generate):
        return first.prompt, None
    if isinstance(first, RollingLogLikelihood | Embed):
        return first.text, None
    if isinstance(first, LogLikelihood):
        pairs = [(r.context, r.continuation) for r in requests if isinstance(r, LogLikelihood)]
        contexts = {context for context, _ in pairs}
        # Choices of one question share their context; otherwise each continuation is shown
        # with its own context appended to the first's (rare: per-choice prompts).
        if len(contexts) == 1:
            return first.context, [c for _, c in pairs]
        return first.context, [context + c for context, c in pairs]
    return None, None  # pragma: no cover  (every kind is handled above)


def gold_of(adapter: Adapter, sample: Sample) -> JsonValue:
    """The adapter's gold answer when it declares one (a third-party adapter may not)."""
    gold = getattr(adapter, "gold", None)
    return gold(sample) if callable(gold) else sample.label


def sample_rows(
    variant_id: str,
    task: PreparedTask,
    requests: Sequence[Sequence[Request]],
    responses: Sequence[Sequence[Response]],
    scores: Sequence[Mapping[str, float]],
) -> list[SampleRow]:
    rows = []
    for sample, asked, answer, score in zip(task.samples, requests, responses, scores, strict=True):
        prompt, continuations = prompt_of(asked)
        rows.append(
            SampleRow(
                variant_id=variant_id,
                task=task.name,
                sample_id=sample.id,
                label=sample.label,
                prompt=prompt,
                continuations=continuations,
                gold=gold_of(task.adapter, sample),
                output=dict(task.adapter.output(sample, answer)),
                scores=dict(score),
            )
        )
    return rows
