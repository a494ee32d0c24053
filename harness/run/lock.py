"""One writer per run folder: an OS-level lock held for the whole run (and for --resume).

The lock is `fcntl.flock` on `<run>/run.lock`. The kernel releases it when the holder's
process ends, however it ends (SIGKILL included), so a crashed run never blocks a resume, and
a second `limitbench run` or `--resume` on a folder being written is refused with the holder
named. After locking, the holder writes its pid and command into the file; readers (`report`,
`gate`) never lock, they read that note to say the run is still in progress.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from harness.core.errors import UserError

LOCK_NAME = "run.lock"


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a run folder's lock."""

    pid: int
    command: str
    since: str

    def describe(self) -> str:
        return f"pid {self.pid}, started {self.since}: {self.command}"


def read_holder(folder: Path) -> Holder | None:
    """The note the current holder wrote, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads((folder / LOCK_NAME).read_text(encoding="utf-8"))
        return Holder(int(data["pid"]), str(data["command"]), str(data["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def writer_in_progress(folder: Path) -> Holder | None:
    """The live writer of `folder`, for readers, without taking the lock: a holder's note is
    emptied on a clean exit, and a killed holder's pid no longer runs."""
    holder = read_holder(folder)
    if holder is None or holder.pid == os.getpid():
        return None
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return holder  # alive, another user's
    return holder


def note_if_in_progress(folder: Path, finished: int) -> None:
    """Readers say so on stderr when the folder they read is still being written."""
    holder = writer_in_progress(folder)
    if holder is not None:
        print(
            f"limitbench: note: {folder} is still being written ({holder.describe()}); "
            f"this reads its {finished} finished unit(s) so far",
            file=sys.stderr,
        )


class RunLock:
    """`with RunLock(folder):` holds the folder exclusively or raises a UserError (exit 2)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise UserError(
                f"--out {self.folder}: cannot create {LOCK_NAME} ({err.strerror})"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = read_holder(self.folder)
            who = holder.describe() if holder else "a process that has not yet written its note"
            raise UserError(
                f"{self.folder}: another limitbench is writing this run folder ({who}). "
                "One writer per folder: wait for it to finish, stop it, or choose another --out"
            ) from None
        self.fd = fd
        note = {
            "pid": os.getpid(),
            "command": " ".join(sys.argv),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(note) + "\n").encode("utf-8"), 0)

    def release(self) -> None:
        """Empty the note (so readers see no writer), then let the kernel drop the lock."""
        if self.fd is None:
            return
        with contextlib.suppress(OSError):  # a full disk: the lock still goes with the fd
            os.ftruncate(self.fd, 0)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
