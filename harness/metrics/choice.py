"""Metrics over choices scored by log-likelihood: accuracy, macro-F1, calibration."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from harness.metrics.scores import Scores

ECE_BINS = 10


def choice_lengths(continuations: Sequence[str]) -> tuple[list[int], list[int]]:
    """(characters, bytes) per choice for the two length normalizations.

    Characters follow lm-evaluation-harness's acc_norm: the choice's own text, without the
    whitespace that joins it to the prompt (lm-eval divides by len(choice), the delimiter
    being added separately). Bytes are the UTF-8 bytes of the whole continuation, leading
    space included: this project's earlier convention, kept as `accuracy_norm_bytes`.
    """
    chars = [len(c.lstrip()) for c in continuations]
    return chars, [len(c.encode("utf-8")) for c in continuations]


def choice_scores(
    logprobs: Sequence[float],
    lengths: Sequence[int],
    gold: int,
    byte_lengths: Sequence[int] | None = None,
) -> dict[str, float]:
    """Per-sample scores: raw and length-normalized predictions and the label probabilities.

    `lengths` normalize `correct_norm` (characters, as lm-evaluation-harness's acc_norm);
    `byte_lengths`, when given, normalize `correct_norm_bytes`. Probabilities are the
    softmax of the choices' summed log-likelihoods, i.e. the model's distribution
    restricted to the choices.
    """
    lp = np.asarray(logprobs, dtype=float)
    probs = np.exp(lp - lp.max())
    probs /= probs.sum()
    pred, pred_norm = int(lp.argmax()), _argmax_normalized(lp, lengths)
    onehot = np.zeros_like(probs)
    onehot[gold] = 1.0
    out = {
        "gold": float(gold),
        "pred": float(pred),
        "pred_norm": float(pred_norm),
        "correct": float(pred == gold),
        "correct_norm": float(pred_norm == gold),
        "confidence": float(probs[pred]),
        "p_gold": float(probs[gold]),
        "brier": float(((probs - onehot) ** 2).sum()),
    }
    if byte_lengths is not None:
        out["correct_norm_bytes"] = float(_argmax_normalized(lp, byte_lengths) == gold)
    return out


def _argmax_normalized(lp: np.ndarray, lengths: Sequence[int]) -> int:
    return int((lp / np.maximum(np.asarray(lengths, dtype=float), 1.0)).argmax())


def macro_f1(scores: Scores) -> float:
    """Unweighted mean of per-class F1 over the classes present in gold or predictions
    (scikit-learn's f1_score(average="macro") on the same labels)."""
    gold = np.array([s["gold"] for s in scores])
    pred = np.array([s["pred"] for s in scores])
    f1s = []
    for label in np.union1d(gold, pred):
        tp = float(np.sum((pred == label) & (gold == label)))
        fp = float(np.sum((pred == label) & (gold != label)))
        fn = float(np.sum((pred != label) & (gold == label)))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(f1s)) if f1s else math.nan


def expected_calibration_error(scores: Scores) -> float:
    """ECE with 10 equal-width confidence bins: sum_b |acc_b - conf_b| * n_b / n."""
    conf = np.array([s["confidence"] for s in scores])
    correct = np.array([s["correct"] for s in scores])
    bins = np.minimum((conf * ECE_BINS).astype(int), ECE_BINS - 1)
    total = 0.0
    for b in np.unique(bins):
        in_bin = bins == b
        total += abs(correct[in_bin].mean() - conf[in_bin].mean()) * in_bin.sum()
    return float(total / len(conf))
