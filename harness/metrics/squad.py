"""SQuAD v1.1 answer normalization, exact match and token F1 (max over gold answers),
as in the official evaluation script."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation and articles, squeeze whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def best_over_golds(prediction: str, golds: Sequence[str]) -> dict[str, float]:
    return {
        "exact_match": max(exact_match(prediction, g) for g in golds),
        "f1": max(token_f1(prediction, g) for g in golds),
    }


_NUMBER = re.compile(r"-?[\d,]*\.?\d+")


def extract_number(text: str, marker: str | None = None) -> str | None:
    """The number after `marker` (e.g. GSM8K's '####'), else the last number in the text;
    commas, a trailing period and '$' are dropped so '1,000.' matches '1000'."""
    if marker is not None:
        if marker not in text:
            return None
        text = text.rsplit(marker, 1)[1]
        found = _NUMBER.findall(text)
        return _clean_number(found[0]) if found else None
    found = _NUMBER.findall(text)
    return _clean_number(found[-1]) if found else None


def _clean_number(raw: str) -> str:
    value = raw.replace(",", "").rstrip(".")
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return value
