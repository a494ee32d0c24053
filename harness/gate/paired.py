"""Paired statistics on per-sample scores: exact McNemar and the paired bootstrap.

Both answer one question per (task, variant, metric): how sure are we that the candidate is
worse than the baseline by more than the tolerance? The answer is a one-sided p-value, so
many comparisons can be controlled together with Holm's step-down procedure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Scores = Sequence[Mapping[str, float]]
Z_POWER = 0.8416212335729143  # one-sided z for 80% power
P_FLOOR = 1e-16


@dataclass(frozen=True)
class PairedResult:
    method: str
    baseline: float
    candidate: float
    drop: float  # positive = candidate worse, in the tolerance's units
    drop_ci: tuple[float, float]
    p_value: float  # H0: drop <= tolerance
    mde: float  # smallest drop detectable at this n with 80% power, same units


def mcnemar(base: Sequence[float], cand: Sequence[float], confidence: float) -> PairedResult:
    """Exact McNemar on correct/incorrect pairs; tolerance zero."""
    from scipy.stats import binomtest, norm

    b = sum(1 for x, y in zip(base, cand, strict=True) if x == 1 and y == 0)  # lost
    c = sum(1 for x, y in zip(base, cand, strict=True) if x == 0 and y == 1)  # gained
    p = binomtest(b, b + c, 0.5, alternative="greater").pvalue if b + c else 1.0
    diffs = np.asarray(base) - np.asarray(cand)
    n = len(diffs)
    se = float(np.std(diffs, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    z = float(norm.ppf(confidence))
    drop = float(diffs.mean())
    mde = (z + Z_POWER) * max(se, 0.5 / np.sqrt(n))  # a floor when no pair disagrees
    return PairedResult(
        "exact McNemar",
        float(np.mean(base)),
        float(np.mean(cand)),
        drop,
        (drop - z * se, drop + z * se),
        float(p),
        float(mde),
    )


def paired_bootstrap(
    base: Scores,
    cand: Scores,
    reduce: Callable[[Scores], float],
    higher_is_better: bool,
    tolerance: float,
    relative: bool,
    confidence: float,
    n_boot: int,
    seed: int,
    resample: Callable[[Scores, np.ndarray], np.ndarray] | None = None,
) -> PairedResult:
    """Resample samples jointly; the drop's distribution gives the p-value and the CI.

    Relative drops divide by the full-sample baseline value, one fixed denominator, so every
    resample is in the same units. A baseline of 0 has no relative scale: the drops stay
    absolute and the method says so (the tolerance then reads as an absolute drop).
    """
    sign = 1.0 if higher_is_better else -1.0
    b0, c0 = reduce(base), reduce(cand)
    scale = abs(b0) if relative and b0 else 1.0
    method = "paired bootstrap"
    if relative and not b0:
        method += " (baseline 0: relative drop undefined, absolute drop used)"

    def drop(b: float, c: float) -> float:
        return sign * (b - c) / scale

    rng = np.random.default_rng(seed)
    n = len(base)
    idx = rng.integers(0, n, size=(n_boot, n))
    if resample is not None:  # every resample at once (harness.gate.resample)
        with np.errstate(divide="ignore", invalid="ignore"):
            all_draws = sign * (resample(base, idx) - resample(cand, idx)) / scale
    else:
        all_draws = np.asarray(
            [drop(reduce([base[i] for i in row]), reduce([cand[i] for i in row])) for row in idx]
        )
    arr = all_draws[np.isfinite(all_draws)]
    tail = (1 - confidence) * 100
    from scipy.stats import norm

    sd = float(np.std(arr, ddof=1)) if arr.size > 1 else float("nan")
    p, beyond = _bootstrap_p(arr, drop(b0, c0), tolerance, sd)
    if beyond:
        method += " (p beyond every resample: normal tail of the bootstrap distribution)"
    mde = (float(norm.ppf(confidence)) + Z_POWER) * sd
    return PairedResult(
        method,
        b0,
        c0,
        drop(b0, c0),
        (float(np.percentile(arr, tail)), float(np.percentile(arr, 100 - tail))),
        p,
        mde,
    )


def _bootstrap_p(
    draws: np.ndarray, point: float, tolerance: float, sd: float
) -> tuple[float, bool]:
    """The share of resampled drops within the tolerance, with add-one smoothing.

    That share cannot go below 1/(B+1): with B = 1000 no comparison could ever meet a Holm
    threshold below 0.001, so a doubled bits-per-byte passed a gate of 76 units. When no
    resample falls within the tolerance, the tail beyond the resamples is extrapolated from
    the bootstrap distribution's normal approximation (never above the empirical floor).
    Returns (p, whether the extrapolation was used).
    """
    inside = int(np.sum(draws <= tolerance))
    p = float((1 + inside) / (1 + draws.size))
    if inside or not (math.isfinite(sd) and sd > 0):
        return p, False
    from scipy.stats import norm

    # 1e-16 keeps the printed p meaningful (the normal tail underflows to 0 far out); it is
    # far below any Holm threshold a run can need.
    return max(min(p, float(norm.sf((point - tolerance) / sd))), P_FLOOR), True


def holm(p_values: Sequence[float], alpha: float) -> list[bool]:
    """Which hypotheses Holm's step-down procedure rejects at family-wise level alpha."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = [False] * len(p_values)
    m = len(p_values)
    for rank, i in enumerate(order):
        if p_values[i] > alpha / (m - rank):
            break
        rejected[i] = True
    return rejected
