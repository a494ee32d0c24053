"""Asynchronous HTTP to an OpenAI-compatible server: retries with backoff, streamed timing,
and the load schedule (closed-loop concurrency or seeded open-loop Poisson arrivals).

httpx is imported by the caller (the backend) and handed in, so importing this module is
cheap. Every timing uses time.perf_counter on arrival of the bytes, in this process.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from harness.core.errors import UserError
from harness.suite.serving import ServerConfig

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_S = 0.25  # waits 0.25, 0.5, 1, 2 ... seconds between attempts


class ServerGone(Exception):
    """The server stopped answering (refused or dropped connections) after every retry."""


class ServerRefused(Exception):
    """The server answered a 4xx other than 429: the request itself is wrong for it."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status


@dataclass
class Streamed:
    """One streamed generation, timed on arrival of each content chunk."""

    text: str = ""
    ttft_s: float | None = None
    latency_s: float = 0.0
    itl_s: list[float] = field(default_factory=list)
    n_chunks: int = 0
    prompt_tokens: int | None = None  # from the server's usage block, when it sends one
    completion_tokens: int | None = None
    retries: int = 0
    error: str | None = None


def backoff_s(attempt: int) -> float:
    return float(BACKOFF_BASE_S * 2**attempt)


def arrival_offsets(n: int, rate: float, seed: int) -> list[float]:
    """Seconds after the start at which each of n requests is sent: a Poisson process of
    `rate` requests per second (exponential gaps), the same for the same seed."""
    gaps = np.random.default_rng(seed).exponential(1.0 / rate, size=n)
    return [float(x) for x in np.cumsum(gaps)]


async def run_load(
    jobs: Sequence[Callable[[float], Awaitable[T]]],
    concurrency: int | None,
    rate: float | None,
    seed: int,
    on_done: Callable[[], None] | None = None,
) -> list[T]:
    """Run the jobs, each given its start clock. Closed loop: at most `concurrency` in flight.
    Open loop: job i is released at its Poisson arrival time and its clock starts then (so
    queueing behind a concurrency cap counts as latency, as a user would see it)."""
    slots = asyncio.Semaphore(concurrency or len(jobs) or 1)
    offsets = arrival_offsets(len(jobs), rate, seed) if rate else [0.0] * len(jobs)
    begin = time.perf_counter()

    async def one(job: Callable[[float], Awaitable[T]], offset: float) -> T:
        if rate:
            await asyncio.sleep(max(0.0, begin + offset - time.perf_counter()))
        released = time.perf_counter()
        async with slots:
            result = await job(released if rate else time.perf_counter())
        if on_done is not None:
            on_done()
        return result

    return list(await asyncio.gather(*(one(j, o) for j, o in zip(jobs, offsets, strict=True))))


async def post_json(
    client: Any, httpx: Any, url: str, payload: dict[str, Any], max_retries: int
) -> tuple[dict[str, Any], int]:
    """POST and parse JSON, retrying 429/5xx and lost connections; returns (body, retries)."""
    for attempt in range(max_retries + 1):
        try:
            reply = await client.post(url, json=payload)
        except httpx.TransportError as err:
            if attempt == max_retries:
                raise ServerGone(_why(err)) from err
        else:
            if reply.status_code < 400:
                body: dict[str, Any] = reply.json()
                return body, attempt
            if reply.status_code not in RETRY_STATUSES:
                raise ServerRefused(reply.status_code, reply.text)
            if attempt == max_retries:
                raise ServerRefused(reply.status_code, reply.text)
        await asyncio.sleep(backoff_s(attempt))
    raise AssertionError("unreachable")


async def stream_completion(
    client: Any,
    httpx: Any,
    url: str,
    payload: dict[str, Any],
    max_retries: int,
    started: float,
) -> Streamed:
    """One streamed request with retries. The clock runs from `started` (the first attempt),
    so time lost to retries counts. After the last retry a 429/5xx becomes an error result;
    a connection that cannot be made or is lost mid-stream raises ServerGone."""
    result = Streamed()
    for attempt in range(max_retries + 1):
        result = Streamed(retries=attempt)
        try:
            status, body = await _stream_once(client, url, payload, started, result)
        except httpx.TransportError as err:
            if attempt == max_retries:
                raise ServerGone(_why(err)) from err
        else:
            if status < 400:
                return result
            if status not in RETRY_STATUSES:
                raise ServerRefused(status, body)
            if attempt == max_retries:
                result.error = f"HTTP {status} after {attempt} retries: {body[:200]}"
                result.latency_s = time.perf_counter() - started
                return result
        await asyncio.sleep(backoff_s(attempt))
    return result


async def _stream_once(
    client: Any, url: str, payload: dict[str, Any], started: float, out: Streamed
) -> tuple[int, str]:
    async with client.stream("POST", url, json=payload) as reply:
        if reply.status_code >= 400:
            return reply.status_code, (await reply.aread()).decode("utf-8", "replace")
        last: float | None = None
        async for line in reply.aiter_lines():
            chunk = _sse_data(line)
            if chunk is None:
                continue
            if chunk == "[DONE]":
                break
            now = time.perf_counter()
            data = json.loads(chunk)
            piece = _content(data)
            _read_usage(data, out)
            if piece:
                out.text += piece
                out.n_chunks += 1
                if last is None:
                    out.ttft_s = now - started
                else:
                    out.itl_s.append(now - last)
                last = now
        out.latency_s = time.perf_counter() - started
        return reply.status_code, ""


def _sse_data(line: str) -> str | None:
    """The payload of an SSE `data:` line; comments, pings and other fields are skipped."""
    if not line.startswith("data:"):
        return None
    return line[5:].strip() or None


def _content(data: dict[str, Any]) -> str:
    choices = data.get("choices") or []
    if not choices:
        return ""
    first = choices[0]
    delta = first.get("delta")
    if isinstance(delta, dict):
        return str(delta.get("content") or "")
    return str(first.get("text") or "")


def _read_usage(data: dict[str, Any], out: Streamed) -> None:
    usage = data.get("usage")
    if isinstance(usage, dict):
        out.prompt_tokens = usage.get("prompt_tokens", out.prompt_tokens)
        out.completion_tokens = usage.get("completion_tokens", out.completion_tokens)


def _why(err: Exception) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


EXTRA_HINT = "pip install 'limitbench[serving]'"


def import_httpx() -> Any:
    try:
        import httpx
    except ImportError:
        raise UserError(f"the openai backend needs httpx: {EXTRA_HINT}") from None
    return httpx


def api_headers(server: ServerConfig, where: str) -> dict[str, str]:
    """The Authorization header from the variable the suite names; the key is never echoed."""
    if server.api_key_env is None:
        return {}
    key = os.environ.get(server.api_key_env)
    if not key:
        raise UserError(
            f"{where}: key 'server.api_key_env' names the environment variable "
            f"'{server.api_key_env}', which is not set; export it with the server's API key"
        )
    return {"Authorization": f"Bearer {key}"}
