"""The openai engine's options: the load a client offers a server."""

from __future__ import annotations

from harness.backends.base import EngineOptions
from harness.backends.options import PositiveInt, PositiveNumber
from harness.variants.base import OFFERED_LOAD, knob

knob(
    "concurrency",
    "served models: requests in flight (closed loop)",
    "runtime",
    unit="requests",
    axis=OFFERED_LOAD,
)
knob(
    "request_rate",
    "served models: seeded Poisson arrivals per second (open loop)",
    "runtime",
    unit="req/s",
    axis=OFFERED_LOAD,
)


class OpenAIOptions(EngineOptions):
    """The load the client offers; the server's own settings (dtype, batching, context) are
    the server's, so a suite cannot set them here and get runs that only differ by id."""

    concurrency: PositiveInt | None = None  # neither set: one request at a time
    request_rate: PositiveNumber | None = None
