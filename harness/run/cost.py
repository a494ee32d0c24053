"""What a correct answer costs: tokens and joules per correct answer, with bootstrap intervals.

Tokens are each sample's own: what the model ran for it (a prompt shared by the labels'
continuations counts once, where the engine reports what it computed) and what it wrote.
Energy is measured for the whole timed window, not per sample, so it is shared out per
token: a sample's joules = the window's net energy x its share of the tokens. Both ratios are
then resampled over samples (95% percentile interval), so an interval says how much the
figure depends on which samples were drawn; energy's own run-to-run spread is in the energy
values' repeats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from harness.core.perf_names import PerfName
from harness.core.requests import Response, token_counts
from harness.core.values import Value
from harness.metrics.base import N_BOOTSTRAP

CORRECT_FIELDS = ("correct", "exact_match")  # per-sample 0/1 scores that count an answer


def tokens_of(responses: Sequence[Response]) -> int:
    """Tokens the model ran for one sample (a prompt shared by the labels' continuations
    once, where the engine reports what it computed) plus what it wrote."""
    return sum(c.computed + c.out for c in map(token_counts, responses))


def _ratio_interval(
    numerator: np.ndarray, correct: np.ndarray, seed: int
) -> tuple[float, float, float] | None:
    """(low, high, stderr) of sum(numerator) / sum(correct) over resampled samples."""
    n = len(correct)
    if n < 2:
        return None
    draws = np.random.default_rng(seed).integers(0, n, size=(N_BOOTSTRAP, n))
    counts = correct[draws].sum(axis=1)
    kept = counts > 0  # a draw without a correct answer has no cost per correct answer
    ratios = numerator[draws].sum(axis=1)[kept] / counts[kept]
    if ratios.size < 2:
        return None
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(low), float(high), float(np.std(ratios, ddof=1))


def _value(
    total: float, correct: np.ndarray, per_sample: np.ndarray, unit: str, seed: int, note: str
) -> Value:
    interval = _ratio_interval(per_sample, correct, seed)
    low, high, stderr = interval if interval is not None else (None, None, None)
    return Value(
        value=total / float(correct.sum()),
        unit=unit,
        higher_is_better=False,
        stderr=stderr,
        ci_low=low,
        ci_high=high,
        n=int(correct.sum()),
        note=note,
    )


def cost_per_correct(
    perf: Mapping[str, Value],
    scores: Sequence[Mapping[str, float]],
    responses: Sequence[Sequence[Response]],
    seed: int,
    window: Sequence[Response] = (),
) -> dict[str, Value]:
    """Tokens (and, where energy was measured, joules) per correct answer, for tasks whose
    per-sample scores count correct answers; nothing when none was correct. `window`: every
    answer of the timed window, when it ran more than the scored ones (a served load level
    cycles its requests): the energy is then shared out over all of its tokens."""
    key = next((k for k in CORRECT_FIELDS if scores and k in scores[0]), None)
    if key is None:
        return {}
    correct = np.asarray([s[key] for s in scores], dtype=float)
    tokens = np.asarray([tokens_of(r) for r in responses], dtype=float)
    if not correct.sum() or not tokens.sum():
        return {}
    how = "95% bootstrap interval over samples"
    out: dict[str, Value] = {
        PerfName.TOKENS_PER_CORRECT: _value(
            float(tokens.sum()),
            correct,
            tokens,
            "tok",
            seed,
            f"tokens run (shared prompts once) + generated; {how}",
        )
    }
    if PerfName.ENERGY_NET in perf:
        all_tokens = max(float(tokens.sum()), float(tokens_of(window)))
        joules = perf[PerfName.ENERGY_NET].value * tokens / all_tokens
        out[PerfName.JOULES_PER_CORRECT] = _value(
            float(joules.sum()),
            correct,
            joules,
            "J",
            seed,
            f"the window's net energy shared out per token; {how}",
        )
    return out
