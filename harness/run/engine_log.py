"""While units run, engine and library output goes to `<run folder>/engine.log`.

Engines write below Python: llama.cpp's loader and quantizer print from C to file descriptor
2 (~270 lines per quantization level), transformers and Ray log through handlers bound to the
stderr of their import, Python warnings go to `sys.stderr`. So descriptors 1 and 2 point at
the log while units run, and limitbench's own lines (progress, notes, the summary) go to
`TERMINAL`, a stream on the descriptor the terminal had. `-v` (verbose) leaves both alone.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

LOG_NAME = "engine.log"


class Terminal:
    """A text stream that writes where stderr pointed before a run redirected it.

    Rich consoles and the plain progress lines hold this object; it resolves the real stream
    at each call, so it is right before, during and after a redirection."""

    def __init__(self) -> None:
        self.redirected: TextIO | None = None

    def stream(self) -> TextIO:
        return self.redirected or sys.stderr

    def write(self, text: str) -> int:
        return self.stream().write(text)

    def flush(self) -> None:
        self.stream().flush()

    def isatty(self) -> bool:
        return self.stream().isatty()

    def fileno(self) -> int:
        return self.stream().fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.stream(), "encoding", None) or "utf-8"


TERMINAL = Terminal()


@contextmanager
def engine_output_to_log(folder: Path, verbose: bool) -> Iterator[Path | None]:
    """Yields the log's path (None when verbose: nothing is redirected)."""
    if verbose or TERMINAL.redirected is not None:
        yield None
        return
    path = folder / LOG_NAME
    sys.stdout.flush()
    sys.stderr.flush()
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    TERMINAL.redirected = os.fdopen(
        os.dup(saved[2]), "w", buffering=1, encoding="utf-8", errors="replace"
    )
    try:
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        yield path
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(log_fd)
        TERMINAL.redirected.close()
        TERMINAL.redirected = None
        if path.stat().st_size == 0:  # the engines said nothing: no empty file to open
            path.unlink()


def log_tail(path: Path, lines: int = 20) -> str:
    """The log's last lines, for a run whose folder is removed (it failed before any unit)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
