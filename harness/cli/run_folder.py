"""`limitbench run` from a validated plan to a finished folder: lock, open, run, report.

What the command line module leaves here: the folder is locked for the whole run, SIGTERM
and Ctrl-C stop it with what was kept said (exit 143 / 130; launched servers are stopped by
the runner's `finally`), and a run that fails before its first unit leaves no folder behind.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from rich.console import Console

from harness.core.errors import UserError
from harness.executors import ExecutorOptions, Outcome, run_units
from harness.run.engine_log import LOG_NAME, engine_output_to_log, log_tail
from harness.run.lock import LOCK_NAME, RunLock
from harness.run.plan import Plan
from harness.run.progress import progress_sink
from harness.run.runner import open_store
from harness.store.records import RunStore

EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so every `finally` (servers, lock) runs.
    A BaseException, so no `except Exception` on the way swallows it."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def make_folder(out: Path) -> bool:
    """Create the run folder; True when it did not exist before (so a failed start removes
    it). A path that cannot be made is the user's (exit 2 naming it)."""
    existed = out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"--out {out}: cannot create the run folder ({err.strerror})") from None
    if not out.is_dir():
        raise UserError(f"--out {out}: not a folder")
    return not existed


def run_in_folder(
    p: Plan,
    out: Path,
    resume: bool,
    options: ExecutorOptions,
    console: Console,
    verbose: bool = False,
) -> tuple[RunStore, set[tuple[str, str]], Outcome]:
    """Hold `out` exclusively while its unfinished units run; returns what was done before
    and what ran now. Interrupted, it says how many units are kept and exits 130 or 143.
    Engine output goes to `out/engine.log` unless `verbose`."""
    created = make_folder(out)
    store = RunStore(out)
    try:
        with _sigterm_raises(), RunLock(out):
            notes: list[str] = []
            store, done = open_store(p, out, resume, notes)
            for note in notes:
                console.print(f"[yellow]repaired[/] {note}", highlight=False, soft_wrap=True)
            total = sum(len(p.tasks_for(v)) for v in p.variants)
            console.print(
                f"[bold]{p.suite.name}[/]: {len(p.variants)} variant(s), {len(p.tasks)} "
                f"task(s), {total} unit(s){_searching(p)}; {len(done)} already done -> {out}"
            )
            try:
                with engine_output_to_log(out, verbose), progress_sink(total) as sink:
                    outcome = run_units(p, store, done, sink, options)
            finally:
                if created:
                    _remove_if_nothing_finished(store, console)
    except (KeyboardInterrupt, Terminated) as stop:
        kept = _finished_units(store)
        how = "interrupted" if isinstance(stop, KeyboardInterrupt) else "terminated (SIGTERM)"
        console.print(
            f"limitbench: {how}; {kept} finished unit(s) are kept in {out}; "
            f"finish with: limitbench run {p.suite_path} --out {out} --resume"
        )
        raise SystemExit(
            EXIT_INTERRUPTED if isinstance(stop, KeyboardInterrupt) else EXIT_TERMINATED
        ) from None
    return store, done, outcome


def _searching(p: Plan) -> str:
    searches = sum(m.slo_search is not None for m in p.suite.models)
    return f" + {searches} SLO search(es), levels chosen as they run" if searches else ""


def _finished_units(store: RunStore) -> int:
    try:
        return sum(1 for line in store.records_path.open("rb") if line.endswith(b"\n"))
    except OSError:
        return 0


def _remove_if_nothing_finished(store: RunStore, console: Console) -> None:
    """A run that failed before its first unit (a model that does not load, a dead server)
    leaves no empty folder behind; one with any finished unit is kept for --resume. What the
    engines printed is shown first, since their log goes with the folder."""
    if _finished_units(store):
        return
    engine_log = store.root / LOG_NAME
    tail = log_tail(engine_log)
    if tail.strip():
        console.print(f"engine output (the end of {engine_log}, removed with the empty folder):")
        console.print(tail, markup=False, highlight=False)
    for name in (store.samples_path, store.records_path, store.manifest_path, engine_log):
        name.unlink(missing_ok=True)
    (store.root / LOCK_NAME).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # the user put something else there: keep it
        store.root.rmdir()
