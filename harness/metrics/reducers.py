"""How a metric is computed from per-sample scores, as data rather than a closure.

A reducer is a small frozen model: it names the per-sample fields it reads and reduces a
list of score rows to one number. Because it is data, each record stores its metrics'
reducers (harness.metrics.spec.MetricSpec), and the gate and the report recompute a metric
from samples.jsonl without a catalog of metric names.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from harness.metrics.choice import expected_calibration_error, macro_f1
from harness.metrics.scores import Scores
from harness.metrics.text import corpus_from_stats


class _Reducer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MeanOf(_Reducer):
    """The mean of one per-sample field; its interval is closed-form (t, or Wilson for 0/1)."""

    kind: Literal["mean"] = "mean"
    field: str = Field(description="the per-sample score averaged")

    def reduce(self, scores: Scores) -> float:
        return float(np.mean([s[self.field] for s in scores]))

    def fields(self) -> tuple[str, ...]:
        return (self.field,)


class AverageOf(_Reducer):
    """The average of one per-sample field with a bootstrap interval (bounded, non-binary
    scores such as ROUGE F-measures)."""

    kind: Literal["average"] = "average"
    field: str = Field(description="the per-sample score averaged")

    def reduce(self, scores: Scores) -> float:
        return float(sum(s[self.field] for s in scores) / len(scores))

    def fields(self) -> tuple[str, ...]:
        return (self.field,)


class RatioOf(_Reducer):
    """-sum(numerator) / sum(denominator) * scale over samples, optionally exponentiated:
    corpus perplexities (exp of the negative log-likelihood per unit) and bits per byte."""

    kind: Literal["ratio"] = "ratio"
    numerator: str = Field(
        description="per-sample field summed over samples: a log-likelihood, negated here "
        "(scale -1 keeps a positive sum's sign: a KL or a count)"
    )
    denominator: str = Field(description="per-sample units (tokens, words, bytes) summed")
    scale: float = Field(default=1.0, description="multiplies the ratio (1/ln 2 for bits)")
    exponentiate: bool = Field(default=False, description="report exp(ratio): a perplexity")

    def reduce(self, scores: Scores) -> float:
        total = sum(s[self.denominator] for s in scores)
        ratio = -sum(s[self.numerator] for s in scores) / total * self.scale if total else math.nan
        return math.exp(ratio) if self.exponentiate else ratio

    def fields(self) -> tuple[str, ...]:
        return (self.numerator, self.denominator)


class SacrebleuCorpus(_Reducer):
    """sacrebleu's corpus score from summed per-sentence statistics (`<metric>_stat<i>`)."""

    kind: Literal["sacrebleu"] = "sacrebleu"
    metric: Literal["bleu", "chrf", "ter"]

    def reduce(self, scores: Scores) -> float:
        return corpus_from_stats(self.metric)(scores)

    def fields(self) -> tuple[str, ...]:
        return (f"{self.metric}_stat*",)


class MacroF1(_Reducer):
    """Unweighted mean of per-class F1 of the per-sample `gold` and `pred` labels."""

    kind: Literal["macro_f1"] = "macro_f1"

    def reduce(self, scores: Scores) -> float:
        return macro_f1(scores)

    def fields(self) -> tuple[str, ...]:
        return ("gold", "pred")


class CalibrationError(_Reducer):
    """Expected calibration error over 10 equal-width bins of `confidence` vs `correct`."""

    kind: Literal["ece"] = "ece"

    def reduce(self, scores: Scores) -> float:
        return expected_calibration_error(scores)

    def fields(self) -> tuple[str, ...]:
        return ("confidence", "correct")


class TokenQuantile(_Reducer):
    """A quantile of a per-token value pooled over every scored token of a unit (the median
    and p99 of the KL to a reference). Per-sample rows hold sums, not tokens, so no reducer
    can recompute it from them: its spec is stored as not recomputable and the value comes
    from the unit's run (harness.metrics.divergence.token_quantiles)."""

    kind: Literal["token_quantile"] = "token_quantile"
    q: float = Field(ge=0, le=1, description="the quantile, 0.99 for p99")

    def reduce(self, scores: Scores) -> float:
        raise TypeError("a token quantile is not a function of per-sample scores")

    def fields(self) -> tuple[str, ...]:
        return ()


Reducer = Annotated[
    MeanOf | AverageOf | RatioOf | SacrebleuCorpus | MacroF1 | CalibrationError | TokenQuantile,
    Field(discriminator="kind"),
]
