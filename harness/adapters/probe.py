"""Classification on an encoder: a linear probe over the model's embeddings, cross-fitted.

An encoder gives vectors, not log-likelihoods, so a classification task runs on it as a
probe: scikit-learn's logistic regression on the embeddings of the task's texts (the prompt
template rendered without examples). Every evaluated sample gets a prediction from a probe
that never saw it: the samples are split into `folds` stratified folds (seeded by the suite
and the task), and each fold is predicted by a probe fitted on the other folds. So the probe
is scored on the same samples as a language model on the same task (pairs for the gate and
the report's frontier), with no test row in its own fit. The fitting (time, rows, folds) is
recorded apart from the timed inference window.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from pydantic import JsonValue

from harness.adapters.base import UnitScores
from harness.adapters.prompting import render
from harness.core.errors import UserError
from harness.core.perf_names import PerfName
from harness.core.requests import Embed, EmbedResponse, Request, Response
from harness.core.values import Value
from harness.data.base import Sample
from harness.metrics import Metric, corpus_metric, mean_metric
from harness.metrics.choice import choice_scores
from harness.metrics.reducers import CalibrationError, MacroF1

GoldOf = Callable[[Sample], int]  # the index of a sample's gold label (the adapter's check)

PROBE_FOLDS = 5
PROBE_METRICS: tuple[Metric, ...] = (
    mean_metric("accuracy", "fraction", True, "correct"),
    corpus_metric("macro_f1", "fraction", True, MacroF1()),
    mean_metric("brier", "score", False, "brier"),
    corpus_metric("ece", "fraction", False, CalibrationError()),
)


def fold_of(texts: Sequence[str], golds: Sequence[int], folds: int, seed: str) -> list[int]:
    """Each sample's fold: stratified by label, shuffled with a seed tied to the task, and
    grouped by text, so a row repeating another (kept, as lm-eval keeps them) never sits in
    the folds that fit the probe scoring its twin."""
    from sklearn.model_selection import StratifiedGroupKFold

    counts = np.bincount(np.asarray(golds))
    present = counts[counts > 0]
    if len(present) < 2 or int(present.min()) < 2:
        raise UserError(
            "the probe needs at least 2 labels with at least 2 samples each (one to fit on, "
            f"one to score); the samples hold {len(present)} label(s), the rarest "
            f"{int(present.min())} time(s): raise the task's n"
        )
    splitter = StratifiedGroupKFold(
        n_splits=min(folds, int(present.min())),
        shuffle=True,
        random_state=zlib.crc32(seed.encode()),
    )
    groups = [zlib.crc32(t.encode()) for t in texts]
    out = [0] * len(texts)
    for index, (_, test) in enumerate(splitter.split(np.zeros(len(golds)), golds, groups)):
        for i in test:
            out[int(i)] = index
    return out


def cross_fitted_probabilities(
    vectors: np.ndarray, golds: Sequence[int], folds: Sequence[int], n_labels: int
) -> np.ndarray:
    """Out-of-fold label probabilities: fold k is predicted by a probe fitted on the others."""
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(golds)
    fold_ids = np.asarray(folds)
    probs = np.zeros((len(labels), n_labels))
    for k in sorted(set(folds)):
        train, test = fold_ids != k, fold_ids == k
        probe = LogisticRegression(max_iter=2000)
        probe.fit(vectors[train], labels[train])
        probs[np.ix_(test, probe.classes_)] = probe.predict_proba(vectors[test])
    return probs


class ProbeClassification:
    """The classification task on an encoder: one Embed per sample, scored by a probe."""

    metrics = PROBE_METRICS

    def __init__(self, prompt: str, labels: Sequence[str], gold: GoldOf, seed: str) -> None:
        self.prompt, self.labels, self._gold, self.seed = prompt, list(labels), gold, seed
        self.conventions = {
            "probe": "logistic regression (scikit-learn, L2, C=1) on the embeddings, "
            f"up to {PROBE_FOLDS} stratified folds (fewer when a label is rarer) grouped by "
            "text, cross-fitted: each sample is predicted by a probe fitted on the other folds",
            "probabilities": "the probe's predict_proba",
            "ece": "10 equal-width confidence bins",
            "chance_accuracy": f"{1 / len(self.labels):.6g}",
        }

    def requests(self, sample: Sample) -> Sequence[Request]:
        self._gold(sample)
        return [Embed(render(self.prompt, sample.fields))]

    def score(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, float]:
        raise TypeError("a probe scores the unit's samples together: use score_all")

    def score_all(
        self, samples: Sequence[Sample], responses: Sequence[Sequence[Response]]
    ) -> UnitScores:
        started = time.perf_counter()
        vectors = np.asarray([_vector(r) for r in responses], dtype=float)
        if not np.isfinite(vectors).all():
            raise UserError(
                "the encoder gave NaN or infinite embeddings (float16 overflow is a common "
                "cause; try dtype: float32). Finished units are kept."
            )
        golds = [self._gold(s) for s in samples]
        texts = [render(self.prompt, s.fields) for s in samples]
        folds = fold_of(texts, golds, PROBE_FOLDS, self.seed)
        probs = cross_fitted_probabilities(vectors, golds, folds, len(self.labels))
        ones = [1] * len(self.labels)
        scores = [
            choice_scores(np.log(np.clip(p, 1e-12, 1.0)).tolist(), ones, gold)
            for p, gold in zip(probs, golds, strict=True)
        ]
        n_folds = len(set(folds))
        rows = len(samples) - math.ceil(len(samples) / n_folds)
        perf: dict[str, Value] = {
            PerfName.PROBE_FIT_TIME: Value(
                value=time.perf_counter() - started,
                unit="s",
                higher_is_better=False,
                note=f"fitting and predicting {n_folds} probes, outside the timed window",
            ),
            PerfName.PROBE_TRAIN_ROWS: Value(
                value=float(rows), unit="rows", note="rows each fold's probe is fitted on (about)"
            ),
        }
        how = f"{n_folds} stratified folds (grouped by text), cross-fitted"
        return UnitScores(scores, perf, {"probe_folds": how})

    def gold(self, sample: Sample) -> JsonValue:
        return self.labels[self._gold(sample)]

    def output(self, sample: Sample, responses: Sequence[Response]) -> Mapping[str, JsonValue]:
        return {"embedding_dim": len(_vector(responses))}


def _vector(responses: Sequence[Response]) -> tuple[float, ...]:
    (response,) = responses
    if not isinstance(response, EmbedResponse):
        raise TypeError(f"a probe reads embeddings, got {type(response).__name__}")
    return response.vector
