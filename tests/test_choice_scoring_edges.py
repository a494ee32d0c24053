"""Multiple-choice scoring at its edges: a log-probability of exactly zero is kept, and the
length-normalized accuracy divides by characters, as lm-evaluation-harness does."""

from __future__ import annotations

from harness.adapters.base import AdapterContext
from harness.core.requests import LogLikelihoodResponse
from harness.suite.schema import TaskConfig


def test_choice_output_keeps_a_logprob_of_zero() -> None:
    from harness.adapters.choice import ClassificationAdapter, ClassificationOptions
    from harness.data.base import Sample

    adapter = ClassificationAdapter(
        ClassificationOptions(prompt="{text}", labels={"neg": " no", "pos": " yes"}),
        AdapterContext(task=TaskConfig(name="t", adapter="classification", source={}), seed=0),
    )
    sample = Sample(id="a", fields={"text": "t"}, label="pos")
    responses = [
        LogLikelihoodResponse(-2.0, is_greedy=False, n_tokens=1),
        LogLikelihoodResponse(0.0, is_greedy=False, n_tokens=1),
    ]
    assert adapter.output(sample, responses)["prediction"] == "pos"
    assert adapter.score(sample, responses)["correct"] == 1.0


def test_accuracy_norm_divides_by_characters_like_lm_eval() -> None:
    from harness.metrics.choice import choice_lengths, choice_scores

    chars, nbytes = choice_lengths([" 4", " 1234"])
    assert (chars, nbytes) == ([1, 4], [2, 5])
    scores = choice_scores([-2.0, -6.0], chars, gold=1, byte_lengths=nbytes)
    assert scores["correct_norm"] == 1.0  # -6/4 > -2/1: lm-eval's acc_norm picks " 1234"
    assert scores["correct_norm_bytes"] == 0.0  # -2/2 > -6/5: the byte one picks " 4"
