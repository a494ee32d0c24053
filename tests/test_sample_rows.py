"""Each sample row shows the rendered prompt, what was scored after it, and the gold answer."""

from __future__ import annotations

from typing import Any

from harness.adapters.base import ShotPicker
from harness.data.base import make_sample
from harness.run.plan import build_adapter
from harness.run.sample_rows import gold_of, prompt_of
from harness.suite.schema import TaskConfig


def _adapter(adapter: str, options: dict[str, Any], k: int = 0, pool: Any = ()) -> Any:
    task = TaskConfig.model_validate(
        {
            "name": "t",
            "adapter": adapter,
            "source": {"format": "jsonl", "path": "x"},
            "fewshot": {"k": k},
            "options": options,
        }
    )
    return build_adapter(task, "t.yaml", seed=1, shots=ShotPicker(list(pool), k, 1))


def test_generation_row_carries_the_few_shot_prompt_and_numeric_gold() -> None:
    shot = make_sample({"q": "1+1?", "a": "so #### 2"})
    sample = make_sample({"q": "2+3?", "a": "thus #### 5"})
    options = {"prompt": "Q: {q}\nA:", "target": " {a}", "mode": "numeric"}
    adapter = _adapter("qa", {**options, "answer_marker": "####"}, k=1, pool=[shot])
    prompt, continuations = prompt_of(adapter.requests(sample))
    assert prompt == "Q: 1+1?\nA: so #### 2\n\nQ: 2+3?\nA:"
    assert continuations is None
    assert gold_of(adapter, sample) == "5"


def test_multiple_choice_row_names_the_correct_choice_after_shuffling() -> None:
    sample = make_sample({"q": "Which is a colour?", "right": "red", "w1": "dog", "w2": "six"})
    options = {
        "prompt": "{q}\nAnswer:",
        "choices": ["{right}", "{w1}", "{w2}"],
        "shuffle": True,
    }
    adapter = _adapter("multiple_choice", options)
    prompt, continuations = prompt_of(adapter.requests(sample))
    assert prompt == "Which is a colour?\nAnswer:"
    assert continuations is not None
    assert sorted(continuations) == [" dog", " red", " six"]
    assert gold_of(adapter, sample) == " red"


def test_perplexity_row_shows_the_scored_text_and_no_gold() -> None:
    sample = make_sample({"text": "Some text to score."})
    adapter = _adapter("perplexity", {})
    assert prompt_of(adapter.requests(sample)) == ("Some text to score.", None)
    assert gold_of(adapter, sample) is None
