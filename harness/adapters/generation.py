"""QA, translation and summarization: greedy generation scored against references."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

from pydantic import Field, JsonValue

from harness.adapters.base import ADAPTERS, AdapterContext, AdapterOptions, ShotPicker
from harness.adapters.prompting import (
    GenerationOptions,
    build_prompt,
    lookup,
    render,
)
from harness.core.requests import Generate, Request, Response, generated_text
from harness.data.base import Sample
from harness.metrics import Metric, corpus_metric, mean_metric
from harness.metrics.reducers import AverageOf, SacrebleuCorpus
from harness.metrics.squad import best_over_golds, extract_number
from harness.metrics.text import (
    ROUGE_TYPES,
    SACREBLEU_METRICS,
    rouge_scores,
    sentence_stats,
    signatures,
)


class _GenerationAdapter:
    """Shared prompt building and request making; subclasses score the generated text."""

    options: GenerationOptions
    shots: ShotPicker
    uses_fewshot: ClassVar[bool] = True

    def __init__(self, options: GenerationOptions, context: AdapterContext) -> None:
        self.options = options
        self.shots = context.shots

    def requests(self, sample: Sample) -> Sequence[Request]:
        prompt = build_prompt(self.options, self.shots, sample)
        return [
            Generate(
                prompt, self.options.max_new_tokens, tuple(self.options.stop), self.options.chat
            )
        ]

    def reference(self, sample: Sample) -> str:
        return render(self.options.target, sample.fields).strip()

    def gold(self, sample: Sample) -> JsonValue:
        return self.reference(sample)

    def output(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, JsonValue]:
        return {"generated": generated_text(responses[0]), "reference": self.reference(sample)}

    @staticmethod
    def text(responses: Sequence[Response]) -> str:
        return generated_text(responses[0]).strip()


QA_NUMERIC_METRICS: tuple[Metric, ...] = (
    mean_metric("exact_match", "fraction", True),
    mean_metric("exact_match_strict", "fraction", True),
)
QA_SPAN_METRICS: tuple[Metric, ...] = (
    mean_metric("exact_match", "fraction", True),
    mean_metric("f1", "fraction", True),
)


class QAOptions(GenerationOptions):
    mode: Literal["extractive", "generative", "numeric"] = Field(
        default="generative",
        description="extractive/generative: SQuAD EM and F1; numeric: the extracted number",
    )
    answers: str | None = Field(
        default=None,
        description="field holding a list of accepted answers (SQuAD: answers.text) [target]",
    )
    answer_marker: str | None = Field(
        default=None, description="numeric: the gold number follows this marker, e.g. '####'"
    )


@ADAPTERS.register("qa")
class QAAdapter(_GenerationAdapter):
    """SQuAD-style EM/F1 (max over golds) or numeric exact match with answer extraction."""

    Options: ClassVar[type[AdapterOptions]] = QAOptions
    options: QAOptions

    def __init__(self, options: QAOptions, context: AdapterContext) -> None:
        super().__init__(options, context)
        self.metrics = QA_NUMERIC_METRICS if options.mode == "numeric" else QA_SPAN_METRICS
        self.conventions = {
            "extractive": "SQuAD v1.1 normalization; EM and token F1, max over gold answers",
            "numeric": "exact_match: last number in the output; exact_match_strict: the number "
            "after the answer marker, as the few-shot targets show it",
        }

    def golds(self, sample: Sample) -> list[str]:
        if self.options.answers is None:
            return [self.reference(sample)]
        found = lookup(sample.fields, self.options.answers, raw=True)
        raw = found if isinstance(found, list) else [found]
        return [str(a) for a in raw] or [""]

    def gold(self, sample: Sample) -> JsonValue:
        """Every accepted answer; in numeric mode the number extracted from the reference."""
        if self.options.mode == "numeric":
            return self._numeric_gold(sample)
        golds: list[JsonValue] = [*self.golds(sample)]
        return golds

    def _numeric_gold(self, sample: Sample) -> str | None:
        return extract_number(self.reference(sample), self.options.answer_marker)

    def score(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, float]:
        text = self.text(responses)
        if self.options.mode != "numeric":
            return best_over_golds(text, self.golds(sample))
        gold = self._numeric_gold(sample)
        strict = (
            extract_number(text, self.options.answer_marker) if self.options.answer_marker else None
        )
        return {
            "exact_match": float(gold is not None and extract_number(text) == gold),
            "exact_match_strict": float(gold is not None and strict == gold),
        }


class TranslationOptions(GenerationOptions):
    pass


@ADAPTERS.register("translation")
class TranslationAdapter(_GenerationAdapter):
    """Corpus BLEU, chrF and TER from sacrebleu (default settings; signatures recorded)."""

    Options: ClassVar[type[AdapterOptions]] = TranslationOptions
    metrics: tuple[Metric, ...] = (
        corpus_metric("bleu", "BLEU", True, SacrebleuCorpus(metric="bleu")),
        corpus_metric("chrf", "chrF", True, SacrebleuCorpus(metric="chrf")),
        corpus_metric("ter", "TER", False, SacrebleuCorpus(metric="ter")),
    )

    def __init__(self, options: TranslationOptions, context: AdapterContext) -> None:
        super().__init__(options, context)
        self.conventions = {**signatures(), "references": "one reference per segment"}

    def score(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, float]:
        hypothesis, reference = self.text(responses), self.reference(sample)
        out: dict[str, float] = {}
        for name in SACREBLEU_METRICS:
            out.update(sentence_stats(name, hypothesis, reference))
        return out


class SummarizationOptions(GenerationOptions):
    use_stemmer: bool = Field(default=True, description="rouge-score's Porter stemmer")


@ADAPTERS.register("summarization")
class SummarizationAdapter(_GenerationAdapter):
    """ROUGE-1/2/L/Lsum F-measures from rouge-score, averaged over samples (bootstrap CI)."""

    Options: ClassVar[type[AdapterOptions]] = SummarizationOptions
    options: SummarizationOptions
    metrics: tuple[Metric, ...] = tuple(
        corpus_metric(name, "F1", True, AverageOf(field=name)) for name in ROUGE_TYPES
    )

    def __init__(self, options: SummarizationOptions, context: AdapterContext) -> None:
        super().__init__(options, context)
        self.conventions = {
            "rouge": f"rouge-score F-measure, use_stemmer={options.use_stemmer}, mean over samples",
            "rougeLsum": "sentences split after . ! ? before scoring",
        }

    def score(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, float]:
        return rouge_scores(self.text(responses), self.reference(sample), self.options.use_stemmer)
