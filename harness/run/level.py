"""A served load level's generation requests, cycled until the level's minimums are met.

A task of four samples gives a p99 of four requests; a load level needs a hundred or more.
So inside the measured window the task's requests are sent again, in order, until at least
`min_requests` were answered and `min_duration_s` passed. The cycled requests go to the
backend in one call where possible, so a closed loop keeps its concurrency busy throughout
(several short calls would let the load drain and refill between them). The first answer to
each request is the one scored; the others only time the level.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence

from harness.backends.base import Backend, Progress
from harness.core.requests import Generate, GenerateResponse
from harness.suite.schema import LoadLevelConfig


def cycled(reqs: Sequence[Generate], start: int, count: int) -> list[Generate]:
    """`count` requests continuing the cycle through `reqs` from position `start`."""
    return list(
        itertools.islice(itertools.cycle(reqs), start % len(reqs), start % len(reqs) + count)
    )


def _first(progress: Progress | None, limit: int) -> Progress | None:
    """Progress counts the task's samples: ticks past the first pass are not passed on."""
    if progress is None:
        return None
    seen = 0

    def tick(n: int) -> None:
        nonlocal seen
        forward = max(0, min(n, limit - seen))
        seen += n
        if forward:
            progress(forward)

    return tick


def serve_level(
    backend: Backend,
    reqs: Sequence[Generate],
    minimums: LoadLevelConfig,
    progress: Progress | None = None,
) -> list[GenerateResponse]:
    """Every response of the level: the first `len(reqs)` answer `reqs` in order, the rest
    answer the cycled repeats. After the first call, each further call is sized from the rate
    so far to fill the remaining time (at least one pass, at most four times what was sent)."""
    if not reqs:
        return []
    started = time.perf_counter()
    ticks = _first(progress, len(reqs))
    out = backend.generate(cycled(reqs, 0, max(len(reqs), minimums.min_requests)), ticks)
    while (elapsed := time.perf_counter() - started) < minimums.min_duration_s:
        rate = len(out) / max(elapsed, 1e-9)
        wanted = math.ceil(rate * (minimums.min_duration_s - elapsed))
        count = min(max(wanted, len(reqs)), 4 * len(out))
        out += backend.generate(cycled(reqs, len(out), count), None)
    return out
