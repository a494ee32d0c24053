"""`python -m tests.benchmarks.first_forward SUITE OUT`: run `limitbench run SUITE` in this
process, print the seconds from the process's start to the first forward of a transformers
model, and stop there. Start-up is everything a user waits for before any work: interpreter,
imports, suite and data, fingerprint, model load (warm caches)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import psutil
import torch


def _stop_at_first_forward(started: float) -> None:
    original = torch.nn.Module.__call__
    # While units run, fds 1 and 2 go to the run's engine.log: the figure goes to a copy of
    # the stdout this process started with.
    terminal = os.dup(1)

    def timed(module: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
        if hasattr(module, "config") and hasattr(module, "generation_config"):
            os.write(terminal, f"FIRST_FORWARD_S {time.time() - started:.3f}\n".encode())
            os._exit(0)
        return original(module, *args, **kwargs)

    torch.nn.Module.__call__ = timed  # type: ignore[method-assign]


def main() -> None:
    started = psutil.Process().create_time()
    _stop_at_first_forward(started)
    from harness.cli import main as cli

    sys.argv = ["limitbench", "run", sys.argv[1], "--out", sys.argv[2], "--no-report"]
    cli()
    raise SystemExit("no model forward happened")


if __name__ == "__main__":
    main()
