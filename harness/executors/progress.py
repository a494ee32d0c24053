"""Progress of a cluster run: units done out of all, and which node runs what."""

from __future__ import annotations

from typing import Any

from harness.executors.base import UnitFailure
from harness.run.progress import ProgressSink, RichProgress


class ClusterView:
    """Rows per node on a terminal's rich Progress; plain lines through the sink otherwise.

    Retries and failures go through `sink.note` under every display, so a CI log shows them.
    """

    def __init__(self, sink: ProgressSink, total: int) -> None:
        self.sink = sink
        self.total = total
        self.done = 0
        self.progress: Any = sink.progress if isinstance(sink, RichProgress) else None
        self.rows: dict[str, Any] = {}
        self.overall: Any = None
        if self.progress is not None:
            self.overall = self.progress.add_task("units done on the cluster", total=total)

    def running(self, node: str, what: str) -> None:
        if self.progress is None:
            self.sink.note(f"{node}: {what}")
            return
        if node not in self.rows:
            self.rows[node] = self.progress.add_task("", total=None)
        self.progress.update(self.rows[node], description=f"  {node}: {what}")

    def finished(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress.advance(self.overall, 1)
        else:
            self.sink.note(f"{self.done}/{self.total} unit(s) done on the cluster")

    def note(self, text: str) -> None:
        self.sink.note(text)

    def failed(self, failure: UnitFailure) -> None:
        self.note(
            f"unit failed {failure.variant_id} · {failure.task} after "
            f"{failure.attempts} attempt(s): {failure.reason}"
        )
