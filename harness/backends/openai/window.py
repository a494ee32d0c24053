"""The server's side of a measured window for the openai engine: its prefix cache emptied
before the window where the suite asks, its Prometheus counters read across it, and its token
counts set beside the client tokenizer's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from harness.backends.base import ServedWindow
from harness.backends.openai.client_tokens import ClientTokenizer, token_count_values
from harness.backends.openai.server_state import Scrape, reset_prefix_cache, scrape, window_values
from harness.core.requests import GenerateResponse
from harness.core.values import Value

if TYPE_CHECKING:
    from harness.backends.openai.backend import OpenAIBackend


class ServerWindow(ServedWindow):
    def __init__(self, backend: OpenAIBackend) -> None:
        self.backend = backend
        self.root = backend.url.removesuffix("/v1")
        self._before: Scrape | None = None
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
        return why

    def close(self) -> tuple[dict[str, Value], dict[str, str]]:
        before, self._before = self._before, None
        after = scrape(self.backend.httpx, self.root, self.backend.headers)
        if before is None or before.counters is None or after.counters is None:
            return {}, {"server_metrics": (before or after).why_not or after.why_not}
        return window_values(before.counters, after.counters), {}

    def token_counts(
        self, streamed: Sequence[GenerateResponse]
    ) -> tuple[dict[str, Value], str | None]:
        return token_count_values(streamed, self.client_tokenizer)
