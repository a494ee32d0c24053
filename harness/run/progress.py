"""Progress of a run on stderr: a rich bar per unit on a terminal, plain lines elsewhere.

Under a non-TTY (CI logs, a pipe) a bar redraws nothing anyone sees, so each unit prints a
start line and an end line, with a line every ~10% in between, and an overall ETA from the
units finished so far.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO, cast

from harness.run.engine_log import TERMINAL


class ProgressSink(Protocol):
    def begin(self, label: str, total: int) -> None: ...
    def advance(self, n: int) -> None: ...
    def end(self) -> None: ...
    def note(self, text: str) -> None:
        """A line the user must see whatever the display (a retry, a failed unit)."""


class NoProgress:
    def begin(self, label: str, total: int) -> None: ...
    def advance(self, n: int) -> None: ...
    def end(self) -> None: ...
    def note(self, text: str) -> None: ...


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class UnitClock:
    """Units done and their average wall time: the overall ETA of the remaining units."""

    def __init__(self, units: int) -> None:
        self.units = max(units, 0)
        self.done = 0
        self.started = time.monotonic()

    def finish_unit(self) -> None:
        self.done += 1
        self.units = max(self.units, self.done)  # an SLO search adds units as it decides

    def eta(self, fraction_of_current: float = 0.0) -> str:
        progressed = self.done + fraction_of_current
        if progressed <= 0:
            return "unknown"
        per_unit = (time.monotonic() - self.started) / progressed
        return _clock(per_unit * max(self.units - progressed, 0))


class PlainProgress:
    """One line per finished unit with the overall ETA, and a line a minute within a long unit,
    flushed at once: a 38-unit suite is about 40 lines of log, not a redraw per sample."""

    HEARTBEAT_S = 60.0

    def __init__(self, units: int, stream: TextIO) -> None:
        self.clock = UnitClock(units)
        self.stream = stream
        self.label = ""
        self.total = 0
        self.count = 0
        self.unit_started = 0.0
        self.last_line = 0.0

    def _say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def begin(self, label: str, total: int) -> None:
        self.label, self.total, self.count = label, total, 0
        self.unit_started = self.last_line = time.monotonic()

    def advance(self, n: int) -> None:
        self.count += n
        now = time.monotonic()
        if now - self.last_line >= self.HEARTBEAT_S and self.count < self.total:
            self.last_line = now
            fraction = self.count / self.total if self.total else 0.0
            self._say(
                f"[unit {self.clock.done + 1}/{self.clock.units}] {self.label}: "
                f"{self.count}/{self.total} after {_clock(now - self.unit_started)}, "
                f"overall ETA {self.clock.eta(fraction)}"
            )

    def note(self, text: str) -> None:
        self._say(text)

    def end(self) -> None:
        took = time.monotonic() - self.unit_started
        self.clock.finish_unit()
        left = self.clock.units - self.clock.done
        self._say(
            f"[unit {self.clock.done}/{self.clock.units}] {self.label}: done in {_clock(took)}; "
            f"{left} unit(s) left, overall ETA {self.clock.eta()}"
        )


class RichProgress:
    """Variant, task, samples done and the unit's ETA, plus the run's overall ETA."""

    def __init__(self, units: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.clock = UnitClock(units)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[overall]}"),
            # The terminal even while engine output is redirected; and no capture of other
            # writers to stderr, which belong in the engine log.
            console=Console(file=cast(TextIO, TERMINAL)),
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.current: Any = None

    def begin(self, label: str, total: int) -> None:
        overall = f"(run ETA {self.clock.eta()})" if self.clock.done else ""
        self.current = self.progress.add_task(label, total=total, overall=overall)

    def advance(self, n: int) -> None:
        self.progress.advance(self.current, n)

    def end(self) -> None:
        self.progress.update(self.current, completed=self.progress.tasks[-1].total, overall="")
        self.clock.finish_unit()

    def note(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)


@contextmanager
def progress_sink(units: int, stream: TextIO | None = None) -> Iterator[ProgressSink]:
    """The progress display for `units` units: rich on a terminal, plain lines otherwise;
    on the terminal (`TERMINAL`) unless given a stream."""
    target = stream or cast(TextIO, TERMINAL)
    if not target.isatty():
        yield PlainProgress(units, target)
        return
    sink = RichProgress(units)
    with sink.progress:
        yield sink
