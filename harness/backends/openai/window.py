"""The server's side of a measured window for the openai engine: its prefix cache emptied
before the window where the suite asks, its Prometheus counters read across it, its token
counts set beside the client tokenizer's, and, for a server limitbench launched, the memory
its process tree held (the client's own RSS is the memory profiler's `peak_rss`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import psutil

from harness.backends.base import ServedWindow
from harness.backends.openai.client_tokens import ClientTokenizer, token_count_values
from harness.backends.openai.server_state import Scrape, reset_prefix_cache, scrape, window_values
from harness.backends.server_memory import POLL_S, ServerMemory, TreeMemoryWatch
from harness.core.perf_names import PerfName
from harness.core.requests import GenerateResponse
from harness.core.values import Value

if TYPE_CHECKING:
    from harness.backends.openai.backend import OpenAIBackend


class ServerWindow(ServedWindow):
    def __init__(self, backend: OpenAIBackend) -> None:
        self.backend = backend
        self.root = backend.url.removesuffix("/v1")
        self._before: Scrape | None = None
        self._memory: TreeMemoryWatch | None = None
        # Loaded now, before any window opens, so no window pays for it.
        self.client_tokenizer = ClientTokenizer(backend.client_tokenizer_source)
        self.client_tokenizer.encode("")

    def open(self) -> dict[str, str]:
        b = self.backend
        why: dict[str, str] = {}
        if b.server.reset_prefix_cache:
            refused = reset_prefix_cache(b.httpx, self.root, b.headers)
            if refused is not None:
                why["prefix_cache_reset"] = refused
        else:
            why["prefix_cache_reset"] = "the suite keeps the cache (server.reset_prefix_cache)"
        self._before = scrape(b.httpx, self.root, b.headers)
        if b.launched is not None:
            try:
                self._memory = b.launched.watch_memory()
            except psutil.Error as err:  # the server is gone: its requests will say so
                why["server_memory"] = f"the server process cannot be read ({err})"
            else:
                self._memory.start()
        else:
            why["server_memory"] = (
                "a server the suite did not launch (server.url): its processes are not "
                "this run's to read"
            )
        return why

    def close(self) -> tuple[dict[str, Value], dict[str, str]]:
        before, self._before = self._before, None
        watch, self._memory = self._memory, None
        values, why = memory_values(watch.stop()) if watch is not None else ({}, {})
        after = scrape(self.backend.httpx, self.root, self.backend.headers)
        if before is None or before.counters is None or after.counters is None:
            why["server_metrics"] = (before or after).why_not or after.why_not or ""
            return values, why
        return {**window_values(before.counters, after.counters), **values}, why

    def token_counts(
        self, streamed: Sequence[GenerateResponse]
    ) -> tuple[dict[str, Value], str | None]:
        return token_count_values(streamed, self.client_tokenizer)


def memory_values(memory: ServerMemory) -> tuple[dict[str, Value], dict[str, str]]:
    """The launched server's memory over the window, and why its GPU figure is missing."""
    tree = f"the server's process tree ({memory.processes} processes at most)"
    values: dict[str, Value] = {
        PerfName.SERVER_PEAK_RSS: Value(
            value=float(memory.peak_rss),
            unit="B",
            higher_is_better=False,
            n=memory.polls,
            note=f"peak summed RSS of {tree}, polled every {POLL_S:g} s; pages the "
            "processes share count once per process",
        )
    }
    if memory.gpu_peak is not None:
        values[PerfName.SERVER_GPU_PEAK_MEMORY] = Value(
            value=float(memory.gpu_peak),
            unit="B",
            higher_is_better=False,
            n=memory.polls,
            note=f"peak GPU memory NVML lists for {tree}, summed over GPUs, polled every "
            f"{POLL_S:g} s",
        )
        return values, {}
    return values, {"server_gpu_memory": memory.gpu_why_not or "not measured"}
