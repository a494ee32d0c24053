"""Numbers that say the variant is broken, flagged where a reader would otherwise take
them at face value: a perplexity above the vocabulary size (worse than guessing uniformly
over the vocabulary) and an accuracy below chance."""

from __future__ import annotations

from harness.store.records import Record

CHANCE_KEY = "chance_accuracy"
VOCAB_KEY = "vocab_size"


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def flags(record: Record) -> list[str]:
    out = []
    vocab = _float(record.conventions.get(VOCAB_KEY))
    ppl = record.quality.get("token_perplexity")
    if ppl is not None and vocab and ppl.value > vocab:
        out.append(
            f"token perplexity {ppl.value:.3g} is above the vocabulary size {vocab:.0f}: "
            "worse than a uniform guess"
        )
    chance = _float(record.conventions.get(CHANCE_KEY))
    acc = record.quality.get("accuracy")
    if acc is not None and chance is not None and acc.value < chance:
        significant = acc.ci_high is not None and acc.ci_high < chance
        out.append(
            f"accuracy {acc.value:.3g} is below chance ({chance:.3g})"
            + ("" if significant else ", within noise of it")
        )
    return out
