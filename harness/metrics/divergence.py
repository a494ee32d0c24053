"""How far a variant's next-token distributions moved from a reference's: KL(reference ‖
variant) per scored token, and whether the two agree on the most likely token.

Both sides keep only their k most likely tokens per position (harness.core.requests.TopTokens), so
the KL is taken over a coarser outcome space that both can be evaluated on exactly: each token
in *both* top-k lists is its own outcome, and every other token of the vocabulary is lumped
into one "rest" outcome, whose probability on each side is one minus its shared mass. The KL
of a coarsened pair never exceeds the exact KL (the data-processing inequality), so this is a
lower bound, tight when the shared tokens hold nearly all of the reference's mass; the record
says k and that mass. llama.cpp's `llama-perplexity --kl-divergence` keeps the full logits
instead, which costs n_vocab values per token on disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.core.requests import TopTokens
from harness.core.values import Value
from harness.metrics.base import N_BOOTSTRAP, Metric, corpus_metric
from harness.metrics.reducers import RatioOf, TokenQuantile

KL_METRIC = corpus_metric(
    "kl_to_reference",
    "nats/token",
    False,
    RatioOf(numerator="kl_sum", denominator="n_tokens", scale=-1.0),
)
TOP1_METRIC = corpus_metric(
    "top1_agreement",
    "fraction",
    True,
    RatioOf(numerator="top1_hits", denominator="n_tokens", scale=-1.0),
)
SHARED_METRIC = corpus_metric(
    "kl_shared_mass",
    "fraction",
    True,
    RatioOf(numerator="shared_mass_sum", denominator="n_tokens", scale=-1.0),
)
QUANTILES = {"kl_p50": 0.5, "kl_p99": 0.99}
# The key of a record's `unavailable` (and `conventions`) that says why, or how, it was compared.
UNAVAILABLE_KEY = "kl"
QUANTILE_METRICS = tuple(
    corpus_metric(name, "nats/token", False, TokenQuantile(q=q)) for name, q in QUANTILES.items()
)
RECOMPUTABLE = (KL_METRIC, TOP1_METRIC, SHARED_METRIC)
# A shared mass below this in either distribution's rest is rounding, not probability.
_MASS_FLOOR = 1e-12


class TokenMismatch(ValueError):
    """The two sides scored different token sequences (different tokenizers or texts)."""


@dataclass(frozen=True)
class SampleDivergence:
    """One text's per-token KL (nats), top-1 agreement and reference mass on shared tokens."""

    kl: np.ndarray  # float64 [n]
    top1: np.ndarray  # bool [n]
    covered: np.ndarray  # float64 [n]


def sample_divergence(reference: TopTokens, variant: TopTokens) -> SampleDivergence:
    if not np.array_equal(reference.targets, variant.targets):
        raise TokenMismatch(
            f"the variant scored {len(variant.targets)} tokens where the reference scored "
            f"{len(reference.targets)}, or different ones: their tokenizers differ"
        )
    # [n, k_ref, k_var]: where each reference token sits in the variant's list, if at all
    same = reference.ids[:, :, None] == variant.ids[:, None, :]
    shared = same.any(axis=2)
    at = same.argmax(axis=2)
    ref_lp = reference.logprobs.astype(np.float64)
    var_lp = np.take_along_axis(variant.logprobs.astype(np.float64), at, axis=1)
    p_ref = np.where(shared, np.exp(ref_lp), 0.0)
    p_var = np.where(shared, np.exp(var_lp), 0.0)
    kl_shared = np.where(shared, p_ref * (ref_lp - var_lp), 0.0).sum(axis=1)
    rest_ref = np.clip(1.0 - p_ref.sum(axis=1), 0.0, 1.0)
    rest_var = np.clip(1.0 - p_var.sum(axis=1), _MASS_FLOOR, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_rest = np.where(rest_ref > _MASS_FLOOR, rest_ref * np.log(rest_ref / rest_var), 0.0)
    return SampleDivergence(
        kl=np.maximum(kl_shared + kl_rest, 0.0),
        top1=reference.ids[:, 0] == variant.ids[:, 0],
        covered=p_ref.sum(axis=1),
    )


def sample_scores(found: SampleDivergence) -> dict[str, float]:
    """A sample's score fields (beside its `n_tokens`) that KL_METRIC, TOP1_METRIC and
    SHARED_METRIC reduce, so the gate and the report recompute them from samples.jsonl."""
    return {
        "kl_sum": float(found.kl.sum()),
        "top1_hits": float(found.top1.sum()),
        "shared_mass_sum": float(found.covered.sum()),
    }


def token_quantiles(found: Sequence[SampleDivergence], seed: int) -> dict[str, Value]:
    """Median and p99 of the KL over every scored token of the unit, pooled; their 95%
    intervals from a bootstrap over samples (tokens of one text are not independent)."""
    pooled = np.concatenate([f.kl for f in found])
    rng = np.random.default_rng(seed)
    n = len(found)
    draws = [
        np.concatenate([found[i].kl for i in rng.integers(0, n, size=n)])
        for _ in range(N_BOOTSTRAP if n > 1 else 0)
    ]
    out = {}
    for metric in QUANTILE_METRICS:
        q = metric.reducer.q if isinstance(metric.reducer, TokenQuantile) else 0.5
        out[metric.name] = _quantile_value(metric, pooled, draws, q, n)
    return out


def _quantile_value(
    metric: Metric, pooled: np.ndarray, draws: list[np.ndarray], q: float, n: int
) -> Value:
    value = float(np.quantile(pooled, q))
    if not draws:
        return Value(value=value, unit=metric.unit, higher_is_better=False, n=n)
    stats = np.array([np.quantile(d, q) for d in draws])
    low, high = np.percentile(stats, [2.5, 97.5])
    return Value(
        value=value,
        unit=metric.unit,
        higher_is_better=False,
        n=n,
        stderr=float(np.std(stats, ddof=1)),
        ci_low=float(low),
        ci_high=float(high),
        note=f"quantile over {pooled.size} tokens; 95% percentile bootstrap over samples",
    )
