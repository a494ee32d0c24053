"""KL against a reference unit: the distributions a unit keeps (taken after its timed
windows, so no speed pays for them), and the driver's step that stores a reference's and
scores a candidate's against it before the candidate's record is written.

The worker side (`keep_top_tokens`) runs wherever the unit ran; the driver side
(`with_divergence`, called by `harness.run.commit`) runs where the store is written, so a Ray
run and a resumed run compare the same way as a local one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.backends.base import Backend
from harness.core.requests import Request, RollingLogLikelihood, TopTokens
from harness.metrics import summarize
from harness.metrics.divergence import (
    QUANTILE_METRICS,
    RECOMPUTABLE,
    UNAVAILABLE_KEY,
    SampleDivergence,
    TokenMismatch,
    sample_divergence,
    sample_scores,
    token_quantiles,
)
from harness.metrics.spec import MetricSpec
from harness.run.plan import Plan
from harness.run.references import UnitKey
from harness.run.unit import KeptTokens
from harness.store.records import Record, RunStore
from harness.store.runfiles import SampleRow
from harness.store.top_tokens import load_top_tokens


def keep_top_tokens(
    p: Plan, unit: UnitKey, backend: Backend, per_sample: Sequence[Sequence[Request]]
) -> KeptTokens | None:
    """The unit's top-k distributions where the plan compares it with another unit."""
    if not p.divergence.keeps_top_tokens(unit):
        return None
    texts = [reqs[0] for reqs in per_sample if len(reqs) == 1]
    if len(texts) != len(per_sample) or not all(isinstance(r, RollingLogLikelihood) for r in texts):
        return KeptTokens(reason="the task does not score one rolling text per sample")
    rolling = [r for r in texts if isinstance(r, RollingLogLikelihood)]
    tops = backend.top_tokens(rolling, p.divergence.top_k)
    if tops is None:
        name = type(backend).__name__
        return KeptTokens(reason=f"engine {name} does not expose its token distributions")
    return KeptTokens(tops=tops)


def with_divergence(
    record: Record,
    rows: list[SampleRow],
    kept: KeptTokens | None,
    store: RunStore,
    reference: UnitKey,
    p: Plan,
) -> tuple[Record, list[SampleRow]]:
    theirs = load_top_tokens(store.root, reference)
    reason = kept.reason if kept is not None else "no distributions were kept"
    if theirs is None:
        reason = (
            f"reference {reference[0]} on {reference[1]} kept no distributions in this run "
            "(it failed, its engine exposes none, or it finished after this unit)"
        )
    elif kept is not None and kept.tops is not None:
        try:
            found = _per_sample(rows, kept.tops, theirs)
            return _scored(record, rows, found, reference, p)
        except TokenMismatch as err:
            reason = f"not comparable with {reference[0]}: {err}"
    update = {"unavailable": {**record.unavailable, UNAVAILABLE_KEY: reason}}
    return record.model_copy(update=update), rows


def _per_sample(
    rows: Sequence[SampleRow], mine: Sequence[TopTokens], theirs: dict[str, TopTokens]
) -> list[SampleDivergence]:
    missing = [r.sample_id for r in rows if r.sample_id not in theirs]
    if missing:
        raise TokenMismatch(f"the reference scored other samples (first missing: {missing[0]})")
    return [sample_divergence(theirs[r.sample_id], t) for r, t in zip(rows, mine, strict=True)]


def _scored(
    record: Record,
    rows: list[SampleRow],
    found: Sequence[SampleDivergence],
    reference: UnitKey,
    p: Plan,
) -> tuple[Record, list[SampleRow]]:
    rows = [
        r.model_copy(update={"scores": {**r.scores, **sample_scores(f)}})
        for r, f in zip(rows, found, strict=True)
    ]
    scores = [r.scores for r in rows]
    quality = {m.name: summarize(m, scores, p.suite.seed) for m in RECOMPUTABLE}
    quality.update(token_quantiles(found, p.suite.seed))
    specs = {  # the token quantiles are not functions of the per-sample rows
        m.name: MetricSpec.model_validate({**m.model_dump(), "recomputable": m in RECOMPUTABLE})
        for m in (*RECOMPUTABLE, *QUANTILE_METRICS)
    }
    covered = np.concatenate([f.covered for f in found])
    convention = (
        f"KL(reference ‖ this) in nats per scored token: over the tokens in both sides' top "
        f"{p.divergence.top_k} plus the rest as one outcome, a lower bound on the exact KL "
        f"(kl_shared_mass: the reference's mass on those tokens; p1 "
        f"{np.quantile(covered, 0.01):.3f}); llama.cpp's --kl-divergence keeps every logit"
    )
    update = {
        "quality": {**record.quality, **quality},
        "metrics": {**record.metrics, **specs},
        "conventions": {**record.conventions, UNAVAILABLE_KEY: convention},
        "kl_reference": reference[0],
    }
    return record.model_copy(update=update), rows
