"""Adapter mechanics: prompts, shots, request shapes, scoring; and context sharing."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.adapters.base import AdapterContext, ShotPicker
from harness.adapters.choice import (
    ClassificationAdapter,
    ClassificationOptions,
    MultipleChoiceAdapter,
    MultipleChoiceOptions,
)
from harness.adapters.generation import QAAdapter, QAOptions
from harness.adapters.prompting import render
from harness.core.errors import UserError
from harness.core.requests import GenerateResponse, LogLikelihood, LogLikelihoodResponse
from harness.data.base import make_sample
from harness.suite.schema import TaskConfig


def _context(seed: int = 0, shots: ShotPicker | None = None) -> AdapterContext:
    task = TaskConfig(name="t", adapter="qa", source={})
    return AdapterContext(task=task, seed=seed, shots=shots or ShotPicker((), 0, 0))


def test_render_nested_fields_and_lists() -> None:
    fields = {"a": {"b": ["x", "y"]}, "Correct Answer": "42"}
    assert render("{a.b} / {Correct Answer}", fields) == "x y / 42"
    with pytest.raises(UserError, match="did you mean 'a'"):
        render("{aa}", fields)


def test_shots_are_seeded_per_sample_and_exclude_it() -> None:
    pool = [make_sample({"text": str(i)}) for i in range(20)]
    picker = ShotPicker(pool, 3, seed=5)
    first = picker.pick(pool[0])
    assert len(first) == 3 and pool[0] not in first
    assert picker.pick(pool[0]) == first
    assert picker.pick(pool[1]) != first


def test_classification_requests_and_scores() -> None:
    options = ClassificationOptions(
        prompt="Review: {text}\nSentiment:", labels={"pos": " positive", "neg": " negative"}
    )
    pool = [make_sample({"text": f"t{i}", "label": "pos"}, "pos") for i in range(4)]
    adapter = ClassificationAdapter(options, _context(shots=ShotPicker(pool, 2, 0)))
    sample = make_sample({"text": "great", "label": "neg"}, "neg")
    reqs = adapter.requests(sample)
    assert [r.continuation for r in reqs if isinstance(r, LogLikelihood)] == [
        " positive",
        " negative",
    ]
    context = reqs[0].context if isinstance(reqs[0], LogLikelihood) else ""
    assert context.count("Sentiment: positive") == 2 and context.endswith(
        "Review: great\nSentiment:"
    )
    scores = adapter.score(
        sample,
        [
            LogLikelihoodResponse(-3.0, is_greedy=False, n_tokens=1),
            LogLikelihoodResponse(-1.0, is_greedy=False, n_tokens=1),
        ],
    )
    assert scores["correct"] == 1.0 and scores["gold"] == 1.0


def test_classification_rejects_unknown_label() -> None:
    options = ClassificationOptions(prompt="{text}", labels={"a": " a", "b": " b"})
    adapter = ClassificationAdapter(options, _context())
    with pytest.raises(UserError, match=r"'c' is not among options\.labels"):
        adapter.score(
            make_sample({"text": "x", "label": "c"}, "c"),
            [
                LogLikelihoodResponse(-1.0, is_greedy=False, n_tokens=1),
                LogLikelihoodResponse(-2.0, is_greedy=False, n_tokens=1),
            ],
        )


def test_multiple_choice_shuffle_is_seeded_and_gold_tracked() -> None:
    options = MultipleChoiceOptions(
        prompt="Q: {q}\nA:", choices=["{c}", "{w1}", "{w2}"], shuffle=True
    )
    adapter = MultipleChoiceAdapter(options, _context(seed=3))
    sample = make_sample({"q": "2+2?", "c": "4", "w1": "5", "w2": "22"})
    reqs = adapter.requests(sample)
    texts = [r.continuation for r in reqs if isinstance(r, LogLikelihood)]
    assert sorted(texts) == [" 22", " 4", " 5"]
    logprobs = [-1.0 if t == " 4" else -5.0 for t in texts]
    scores = adapter.score(
        sample, [LogLikelihoodResponse(lp, is_greedy=False, n_tokens=1) for lp in logprobs]
    )
    assert scores["correct"] == 1.0 and texts[int(scores["gold"])] == " 4"


def test_qa_numeric_and_extractive_scoring() -> None:
    numeric = QAAdapter(
        QAOptions(
            mode="numeric", prompt="Q: {question}\nA:", target=" {answer}", answer_marker="####"
        ),
        _context(),
    )
    sample = make_sample({"question": "q", "answer": "work\n#### 1,200"})
    right = numeric.score(sample, [GenerateResponse(" so it is 1200.\n#### 1200", n_out=1)])
    assert right == {"exact_match": 1.0, "exact_match_strict": 1.0}
    loose = numeric.score(sample, [GenerateResponse(" it is 1200", n_out=1)])
    assert loose == {"exact_match": 1.0, "exact_match_strict": 0.0}
    squad = QAAdapter(
        QAOptions(
            mode="extractive",
            prompt="{context}\nQ: {question}\nA:",
            target=" {answers.text}",
            answers="answers.text",
        ),
        _context(),
    )
    row = make_sample(
        {
            "context": "c",
            "question": "q",
            "answers": {"text": ["Denver Broncos", "Broncos"], "answer_start": [0, 7]},
        }
    )
    assert squad.score(row, [GenerateResponse(" the Broncos.", n_out=1)]) == {
        "exact_match": 1.0,
        "f1": 1.0,
    }


def test_context_sharing_matches_separate_forwards(tiny_model_dir: Path) -> None:
    from tests.test_hf_backend import _backend

    reqs = [
        LogLikelihood("The quick brown fox jumps over", c)
        for c in [" the lazy dog", " a", " the quick brown fox jumps over the lazy dog"]
    ]
    reqs += [
        LogLikelihood("Rain fell on the", " town"),
        LogLikelihood("Rain fell on the", " river"),
    ]
    shared = _backend(tiny_model_dir, share_context=True).loglikelihood(reqs)
    separate = _backend(tiny_model_dir, share_context=False).loglikelihood(reqs)
    for a, b in zip(shared, separate, strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-4)
        assert a.is_greedy == b.is_greedy and a.n_tokens == b.n_tokens


def test_chat_without_template_is_a_clear_error(tiny_model_dir: Path) -> None:
    from harness.core.requests import Generate
    from tests.test_hf_backend import _backend

    with pytest.raises(UserError, match="has no chat template"):
        _backend(tiny_model_dir).generate([Generate("hi", 2, (), chat=True)])


def test_stop_sequences_skip_leading_blank(tiny_model_dir: Path) -> None:
    from harness.backends.stops import cut_at_stop

    assert cut_at_stop("\n\nAnswer here\nmore", ("\n",)) == "\n\nAnswer here"
    assert cut_at_stop("abc STOP def", ("STOP", "c")) == "ab"
