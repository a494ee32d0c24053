"""What a server says about itself around a measured window: its Prometheus counters
(vLLM's /metrics) and its prefix cache, emptied before the window where it can be.

A counter is read before and after the window and the difference recorded, so the record
holds the server's own token counts (to set beside the client's), its prefix-cache hit
rate (a warm cache makes TTFT many times lower: vllm#54227) and its preemptions (the KV
cache ran out and requests were recomputed). A server without the route, or a counter it
does not export, is recorded as unavailable with the reason, never as 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.core.perf_names import PerfName
from harness.core.values import Value

# Prometheus counter families (without the _total suffix the parser strips) -> our names.
VLLM_COUNTERS = {
    "vllm:prompt_tokens": "prompt_tokens",
    "vllm:generation_tokens": "generation_tokens",
    "vllm:prefix_cache_queries": "prefix_cache_queries",
    "vllm:prefix_cache_hits": "prefix_cache_hits",
    "vllm:num_preemptions": "preemptions",
}


@dataclass(frozen=True)
class ServerCounters:
    """Counter values summed over the server's engines; None: not exported."""

    prompt_tokens: float | None = None
    generation_tokens: float | None = None
    prefix_cache_queries: float | None = None
    prefix_cache_hits: float | None = None
    preemptions: float | None = None


@dataclass(frozen=True)
class Scrape:
    counters: ServerCounters | None  # None: no metrics route
    why_not: str = ""


def scrape(httpx: Any, root: str, headers: dict[str, str]) -> Scrape:
    """GET <root>/metrics and read the counters limitbench records."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        reply = httpx.get(root + "/metrics", headers=headers, timeout=10.0)
    except httpx.HTTPError as err:
        return Scrape(None, f"GET {root}/metrics failed ({type(err).__name__})")
    if reply.status_code != 200:
        return Scrape(
            None,
            f"the server offers no Prometheus metrics (GET /metrics: HTTP {reply.status_code})",
        )
    sums: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(reply.text):
            name = VLLM_COUNTERS.get(family.name)
            if name is None:
                continue
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    sums[name] = sums.get(name, 0.0) + float(sample.value)
    except ValueError as err:
        return Scrape(None, f"GET /metrics did not return Prometheus text ({err})")
    if not sums:
        return Scrape(None, "the server's /metrics has none of vLLM's token counters")
    return Scrape(ServerCounters(**sums))


def reset_prefix_cache(httpx: Any, root: str, headers: dict[str, str]) -> str | None:
    """Empty the prefix cache; None when done, else why not (the route is vLLM's and only
    offered with VLLM_SERVER_DEV_MODE=1)."""
    try:
        reply = httpx.post(root + "/reset_prefix_cache", headers=headers, timeout=30.0)
    except httpx.HTTPError as err:
        return f"POST /reset_prefix_cache failed ({type(err).__name__})"
    if reply.status_code == 200:
        return None
    return (
        f"the server did not empty its prefix cache (POST /reset_prefix_cache: HTTP "
        f"{reply.status_code}; vLLM offers it with VLLM_SERVER_DEV_MODE=1 in server.env)"
    )


def window_values(before: ServerCounters, after: ServerCounters) -> dict[str, Value]:
    """The window's differences of the counters both scrapes hold."""

    def delta(name: str) -> float | None:
        a, b = getattr(before, name), getattr(after, name)
        return None if a is None or b is None else float(b - a)

    out: dict[str, Value] = {}
    for counter, name, unit, note in (
        (
            "prompt_tokens",
            PerfName.SERVER_PROMPT_TOKENS,
            "tok",
            "prompt tokens the server counted in the window",
        ),
        (
            "generation_tokens",
            PerfName.SERVER_GENERATION_TOKENS,
            "tok",
            "output tokens the server counted in the window",
        ),
        (
            "preemptions",
            PerfName.SERVER_PREEMPTIONS,
            "requests",
            "requests the server preempted (KV cache full)",
        ),
    ):
        value = delta(counter)
        if value is not None:
            out[name] = Value(
                value=value,
                unit=unit,
                higher_is_better=name is not PerfName.SERVER_PREEMPTIONS,
                note=note,
            )
    queries, hits = delta("prefix_cache_queries"), delta("prefix_cache_hits")
    if queries and hits is not None:
        out[PerfName.PREFIX_CACHE_HIT_RATE] = Value(
            value=hits / queries,
            unit="fraction",
            higher_is_better=True,
            n=int(queries),
            note="prompt tokens served from the server's prefix cache in the window",
        )
    return out
