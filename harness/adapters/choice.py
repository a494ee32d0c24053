"""Classification by label verbalizers and multiple choice, both scored by log-likelihood.

Each choice is a continuation of the same prompt; the prediction is the choice with the
highest summed log-likelihood (`accuracy`) or the highest per-character log-likelihood
(`accuracy_norm`, lm-evaluation-harness's acc_norm: characters of the choice without its
joining whitespace); `accuracy_norm_bytes` keeps this project's earlier per-UTF-8-byte
normalization under its own name. Label probabilities are the softmax of the choices'
log-likelihoods, which gives calibration (ECE, Brier) for free.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import ClassVar

from pydantic import Field, JsonValue

from harness.adapters.base import ADAPTERS, Adapter, AdapterContext, AdapterOptions, ShotPicker
from harness.adapters.prompting import render
from harness.core.errors import UserError
from harness.core.requests import LogLikelihood, Request, Response, logprobs_of
from harness.data.base import Sample
from harness.metrics import Metric, corpus_metric, mean_metric
from harness.metrics.choice import choice_lengths, choice_scores
from harness.metrics.reducers import CalibrationError, MacroF1

CHOICE_CONVENTIONS = {
    "choices": "summed continuation log-likelihood",
    "accuracy_norm": "log-likelihood / characters of the choice without leading whitespace "
    "(lm-evaluation-harness acc_norm)",
    "accuracy_norm_bytes": "log-likelihood / UTF-8 bytes of the continuation, leading space "
    "included (this project's earlier accuracy_norm)",
    "loglikelihood_context": "all trailing whitespace of the prompt moves to the "
    "continuation; a BOS/prefix token only when the prompt is empty (lm-evaluation-harness)",
    "probabilities": "softmax over the choices' log-likelihoods",
    "ece": "10 equal-width confidence bins",
}


def _choice_metrics(with_f1: bool) -> tuple[Metric, ...]:
    metrics = [
        mean_metric("accuracy", "fraction", True, "correct"),
        mean_metric("accuracy_norm", "fraction", True, "correct_norm"),
        mean_metric("accuracy_norm_bytes", "fraction", True, "correct_norm_bytes"),
        mean_metric("brier", "score", False, "brier"),
        corpus_metric("ece", "fraction", False, CalibrationError()),
    ]
    if with_f1:
        metrics.insert(2, corpus_metric("macro_f1", "fraction", True, MacroF1()))
    return tuple(metrics)


class ClassificationOptions(AdapterOptions):
    prompt: str = Field(description="template with {field} placeholders, e.g. 'Review: {text}'")
    labels: dict[str, str] = Field(
        min_length=2,
        description="each label value -> the continuation scored after the prompt, e.g. "
        "{pos: ' positive', neg: ' negative'}",
    )
    label_field: str = Field(
        default="label", description="the field holding each row's label (fasttext: label)"
    )
    separator: str = Field(default="\n\n", description="between few-shot examples")


@ADAPTERS.register("classification")
class ClassificationAdapter:
    """One log-likelihood per label's continuation after the prompt; the most likely wins
    (accuracy, length-normalized accuracy, macro-F1, ECE, Brier)."""

    Options: ClassVar[type[AdapterOptions]] = ClassificationOptions
    uses_fewshot: ClassVar[bool] = True
    metrics = _choice_metrics(with_f1=True)
    conventions: Mapping[str, str]

    def __init__(self, options: ClassificationOptions, context: AdapterContext) -> None:
        self.options = options
        self.shots: ShotPicker = context.shots
        self.probe_seed = f"{context.seed}:{context.task.name}"
        self.labels = list(options.labels)
        self.conventions = {**CHOICE_CONVENTIONS, "chance_accuracy": f"{1 / len(self.labels):.6g}"}

    def _gold(self, sample: Sample) -> int:
        label = str(sample.fields.get(self.options.label_field, sample.label))
        if label not in self.options.labels:
            raise UserError(
                f"sample label '{label}' is not among options.labels ({', '.join(self.labels)})"
            )
        return self.labels.index(label)

    def _prompt(self, sample: Sample) -> str:
        shots = [
            render(self.options.prompt, s.fields) + self.options.labels[self.labels[self._gold(s)]]
            for s in self.shots.pick(sample)
        ]
        return self.options.separator.join([*shots, render(self.options.prompt, sample.fields)])

    def encoder_path(self) -> Adapter:
        """The task on an encoder: a linear probe over embeddings of the prompt (no examples),
        cross-fitted over the same samples (harness.adapters.probe)."""
        from harness.adapters.probe import ProbeClassification

        return ProbeClassification(self.options.prompt, self.labels, self._gold, self.probe_seed)

    def requests(self, sample: Sample) -> Sequence[Request]:
        self._gold(sample)  # an unknown label fails at plan time, with the row named
        prompt = self._prompt(sample)
        return [LogLikelihood(prompt, self.options.labels[label]) for label in self.labels]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, float]:
        chars, nbytes = choice_lengths([self.options.labels[label] for label in self.labels])
        return choice_scores(logprobs_of(responses), chars, self._gold(sample), nbytes)

    def gold(self, sample: Sample) -> JsonValue:
        """The gold label's name (samples.jsonl shows it beside the prediction)."""
        return self.labels[self._gold(sample)]

    def output(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, JsonValue]:
        logprobs = logprobs_of(responses)
        best = max(range(len(responses)), key=lambda i: logprobs[i])
        return {
            "prediction": self.labels[best],
            "logprobs": dict(zip(self.labels, logprobs, strict=True)),
        }


class MultipleChoiceOptions(AdapterOptions):
    prompt: str = Field(description="template of the question, with {field} placeholders")
    choices: list[str] = Field(
        min_length=2, description="one template per choice, e.g. ['{A}', '{B}', '{C}']"
    )
    gold: int = Field(default=0, description="index into `choices` of the correct one")
    shuffle: bool = Field(
        default=False,
        description="shuffle the choices per sample (seeded); for sources that list the gold first",
    )
    prefix: str = Field(default=" ", description="put before each choice's text")


@ADAPTERS.register("multiple_choice")
class MultipleChoiceAdapter:
    """One log-likelihood per choice after the question, zero-shot (accuracy, accuracy_norm,
    accuracy_norm_bytes, ECE, Brier)."""

    Options: ClassVar[type[AdapterOptions]] = MultipleChoiceOptions
    uses_fewshot: ClassVar[bool] = False  # choices are scored zero-shot
    metrics = _choice_metrics(with_f1=False)
    conventions: Mapping[str, str]

    def __init__(self, options: MultipleChoiceOptions, context: AdapterContext) -> None:
        self.options = options
        self.seed = context.seed
        chance = 1 / len(options.choices)
        self.conventions = {**CHOICE_CONVENTIONS, "chance_accuracy": f"{chance:.6g}"}

    def _order(self, sample: Sample) -> list[int]:
        order = list(range(len(self.options.choices)))
        if self.options.shuffle:
            random.Random(f"{self.seed}:{sample.id}").shuffle(order)
        return order

    def _texts(self, sample: Sample) -> list[str]:
        return [
            self.options.prefix + render(self.options.choices[i], sample.fields).strip()
            for i in self._order(sample)
        ]

    def requests(self, sample: Sample) -> Sequence[Request]:
        prompt = render(self.options.prompt, sample.fields)
        return [LogLikelihood(prompt, text) for text in self._texts(sample)]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, float]:
        chars, nbytes = choice_lengths(self._texts(sample))
        gold = self._order(sample).index(self.options.gold)
        return choice_scores(logprobs_of(responses), chars, gold, nbytes)

    def gold(self, sample: Sample) -> JsonValue:
        """The correct choice's text, as the model was asked to continue with it."""
        return self._texts(sample)[self._order(sample).index(self.options.gold)]

    def output(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, JsonValue]:
        order: list[JsonValue] = [*self._order(sample)]
        logprobs: list[JsonValue] = [*logprobs_of(responses)]
        return {"order": order, "logprobs": logprobs}
