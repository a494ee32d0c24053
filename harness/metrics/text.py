"""Wrappers of sacrebleu (BLEU, chrF, TER) and rouge-score that keep per-sample statistics.

Corpus BLEU/chrF/TER are functions of summed per-sentence statistics; storing those per
sample lets the bootstrap and the CI gate resample sentences without re-tokenizing, the same
way sacrebleu's own paired-bootstrap significance test does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from harness.metrics.scores import Scores

SACREBLEU_METRICS = ("bleu", "chrf", "ter")
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


@cache
def sacrebleu_metric(name: str) -> Any:
    from sacrebleu.metrics.bleu import BLEU
    from sacrebleu.metrics.chrf import CHRF
    from sacrebleu.metrics.ter import TER

    metric = {"bleu": BLEU, "chrf": CHRF, "ter": TER}[name]()
    metric.corpus_score(["x"], [["x"]])  # the signature (nrefs) exists only after one use
    return metric


def sentence_stats(name: str, hypothesis: str, reference: str) -> dict[str, float]:
    metric = sacrebleu_metric(name)
    (stats,) = metric._extract_corpus_statistics([hypothesis], [[reference]])
    return {f"{name}_stat{i}": float(v) for i, v in enumerate(stats)}


def corpus_from_stats(name: str) -> Callable[[Scores], float]:
    def reduce(scores: Scores) -> float:
        keys = sorted(
            (k for k in scores[0] if k.startswith(f"{name}_stat")),
            key=lambda k: int(k.rsplit("stat", 1)[1]),
        )
        totals = [sum(s[k] for s in scores) for k in keys]
        metric = sacrebleu_metric(name)
        # sacrebleu's statistics are counts; BLEU expects ints.
        stats = [round(t) for t in totals] if name == "bleu" else totals
        return float(metric._compute_score_from_stats(stats).score)

    return reduce


def signatures() -> dict[str, str]:
    return {f"sacrebleu_{n}": str(sacrebleu_metric(n).get_signature()) for n in SACREBLEU_METRICS}


@cache
def rouge_scorer(use_stemmer: bool) -> Any:
    from rouge_score import rouge_scorer as rs

    return rs.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> str:
    """rougeLsum needs one sentence per line; split after . ! ? followed by whitespace."""
    return "\n".join(s for s in _SENTENCE_END.split(text.strip()) if s)


def rouge_scores(prediction: str, reference: str, use_stemmer: bool) -> dict[str, float]:
    scores = rouge_scorer(use_stemmer).score(
        split_sentences(reference), split_sentences(prediction)
    )
    return {name: float(scores[name].fmeasure) for name in ROUGE_TYPES}
