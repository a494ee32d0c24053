"""Progress of a cluster run: units done out of all, and which node runs what."""

from __future__ import annotations

from typing import Any

from harness.executors.base import UnitFailure
from harness.run.runner import ProgressSink


class ClusterView:
    """Draws on the CLI's rich Progress when the sink has one; silent otherwise (tests)."""

    def __init__(self, sink: ProgressSink, total: int) -> None:
        self.progress: Any = getattr(sink, "progress", None)
        self.rows: dict[str, Any] = {}
        self.overall: Any = None
        if self.progress is not None:
            self.overall = self.progress.add_task("units done on the cluster", total=total)

    def running(self, node: str, what: str) -> None:
        if self.progress is None:
            return
        if node not in self.rows:
            self.rows[node] = self.progress.add_task("", total=None)
        self.progress.update(self.rows[node], description=f"  {node}: {what}")

    def finished(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.overall, 1)

    def note(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text)

    def failed(self, failure: UnitFailure) -> None:
        self.note(
            f"[red]unit failed[/] {failure.variant_id} · {failure.task} after "
            f"{failure.attempts} attempt(s): {failure.reason}"
        )
