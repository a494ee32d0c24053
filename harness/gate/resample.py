"""Bootstrap resamples of a metric computed from column sums, all at once.

Most metrics the gate judges are functions of per-field sums over samples: a mean, a corpus
ratio (perplexity, bits per byte), sacrebleu's corpus scores from summed sentence statistics.
For them a resample's value needs only the resample's sums, which one indexed sum over a
(resamples x samples x fields) block gives; a Python reduce per resample cost seconds per
unit. Other reducers (macro-F1, calibration error) return None and are resampled one by one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.metrics.reducers import AverageOf, MeanOf, RatioOf, Reducer, SacrebleuCorpus
from harness.metrics.scores import Scores
from harness.metrics.text import sacrebleu_metric

Resampler = Callable[[Scores, np.ndarray], np.ndarray]  # rows, index matrix -> one per row
BLOCK = 20_000_000  # floats per summed block: about 160 MB at most


def _sums(rows: Scores, fields: list[str], idx: np.ndarray) -> np.ndarray:
    """Per-resample sums of each field: shape (resamples, fields)."""
    table = np.asarray([[row[f] for f in fields] for row in rows], dtype=float)
    step = max(1, BLOCK // max(1, idx.shape[1] * len(fields)))
    return np.concatenate(
        [table[idx[i : i + step]].sum(axis=1) for i in range(0, idx.shape[0], step)]
    )


def _sacrebleu(reducer: SacrebleuCorpus) -> Resampler:
    def values(rows: Scores, idx: np.ndarray) -> np.ndarray:
        prefix = f"{reducer.metric}_stat"
        fields = sorted(
            (k for k in rows[0] if k.startswith(prefix)), key=lambda k: int(k[len(prefix) :])
        )
        metric = sacrebleu_metric(reducer.metric)
        out = []
        for totals in _sums(rows, fields, idx):
            stats = [round(t) for t in totals] if reducer.metric == "bleu" else list(totals)
            out.append(float(metric._compute_score_from_stats(stats).score))
        return np.asarray(out)

    return values


def _ratio(reducer: RatioOf) -> Resampler:
    def values(rows: Scores, idx: np.ndarray) -> np.ndarray:
        sums = _sums(rows, [reducer.numerator, reducer.denominator], idx)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = -sums[:, 0] / sums[:, 1] * reducer.scale
        return np.asarray(np.exp(ratio) if reducer.exponentiate else ratio, dtype=float)

    return values


def _mean(field: str) -> Resampler:
    def values(rows: Scores, idx: np.ndarray) -> np.ndarray:
        return np.asarray(_sums(rows, [field], idx)[:, 0] / idx.shape[1], dtype=float)

    return values


def resampler(reducer: Reducer) -> Resampler | None:
    """All-at-once resampling for sum-based reducers; None for the others."""
    if isinstance(reducer, MeanOf | AverageOf):
        return _mean(reducer.field)
    if isinstance(reducer, RatioOf):
        return _ratio(reducer)
    if isinstance(reducer, SacrebleuCorpus):
        return _sacrebleu(reducer)
    return None


__all__ = ["Resampler", "resampler"]
