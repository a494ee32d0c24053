"""The metric spec stored with each record: everything the gate and the report need to
recompute a quality metric from the unit's per-sample scores and to compare it, so neither
looks a metric up by name in a catalog (where two adapters' metrics of one name collide)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from harness.metrics.base import Metric


class MetricSpec(Metric):
    """A Metric as a run used it: its reducer plus the task's role for it."""

    primary_rank: int | None = Field(
        default=None,
        description="position among the task's primary metrics (0: the one the report ranks "
        "by); None: secondary (reported, not gating)",
    )
    recomputable: bool = Field(
        default=True,
        description="the unit's rows in samples.jsonl reproduce the value; False for scores "
        "gated by the SLO, which are not stored per sample",
    )

    def scores_read(self) -> tuple[str, ...]:
        """The per-sample score fields the reducer reads."""
        return self.reducer.fields()


def metric_specs(
    metrics: Sequence[Metric], primary: Sequence[str], derived: Sequence[Metric] = ()
) -> dict[str, MetricSpec]:
    """Specs of a unit's metrics: the adapter's, ranked by the task's `primary`, then those
    derived from gated scores (not recomputable from samples.jsonl)."""
    rank = {name: i for i, name in enumerate(primary)}
    out = {
        m.name: MetricSpec.model_validate({**m.model_dump(), "primary_rank": rank.get(m.name)})
        for m in metrics
    }
    for m in derived:
        out[m.name] = MetricSpec.model_validate({**m.model_dump(), "recomputable": False})
    return out
