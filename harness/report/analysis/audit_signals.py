"""Per-sample signals an invariance audit compares (a sample's answer, correctness and
log-likelihoods, from its stored row) and the paired one-sided tests against the noise floor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from harness.run.cost import CORRECT_FIELDS
from harness.store.runfiles import SampleRow

Rows = Mapping[str, SampleRow]  # one unit's rows by sample id
MIN_FOR_TEST = 2


def answer_of(row: SampleRow) -> str | None:
    """The sample's discrete answer: a choice task's argmax, a generation's text."""
    if "pred" in row.scores:
        return str(row.scores["pred"])
    generated = row.output.get("generated")
    return generated if isinstance(generated, str) else None


def correct_of(row: SampleRow) -> float | None:
    return next((row.scores[k] for k in CORRECT_FIELDS if k in row.scores), None)


def loglik_of(row: SampleRow) -> np.ndarray | None:
    """The sample's log-likelihoods: one per choice, or a text's per token."""
    logprobs = row.output.get("logprobs")
    if isinstance(logprobs, dict):
        return np.asarray([float(v) for v in logprobs.values()], dtype=float)  # type: ignore[arg-type]
    if isinstance(logprobs, list):
        return np.asarray([float(v) for v in logprobs], dtype=float)  # type: ignore[arg-type]
    if "logprob" in row.scores and row.scores.get("n_tokens"):
        return np.asarray([row.scores["logprob"] / row.scores["n_tokens"]])
    return None


def drift(a: Rows, b: Rows, ids: Sequence[str]) -> np.ndarray | None:
    pairs = [(loglik_of(a[i]), loglik_of(b[i])) for i in ids]
    if any(x is None or y is None or x.shape != y.shape for x, y in pairs):
        return None
    return np.asarray([float(np.max(np.abs(x - y))) for x, y in pairs])  # type: ignore[operator]


def flipped(a: Rows, b: Rows, ids: Sequence[str]) -> np.ndarray | None:
    answers = [(answer_of(a[i]), answer_of(b[i])) for i in ids]
    if any(x is None or y is None for x, y in answers):
        return None
    return np.asarray([x != y for x, y in answers], dtype=bool)


def sign_test(mine: np.ndarray, noise: np.ndarray) -> float:
    """One-sided exact McNemar: more samples flip here and not in the noise floor than the
    other way round."""
    from scipy.stats import binomtest

    only_mine, only_noise = int((mine & ~noise).sum()), int((noise & ~mine).sum())
    if only_mine == 0:
        return 1.0
    return float(binomtest(only_mine, only_mine + only_noise, 0.5, alternative="greater").pvalue)


def signed_rank(mine: np.ndarray, noise: np.ndarray) -> float:
    from scipy.stats import wilcoxon

    if len(mine) < MIN_FOR_TEST or not np.any(mine != noise):
        return 1.0
    return float(wilcoxon(mine, noise, alternative="greater").pvalue)
