"""The `openai` backend: any OpenAI-compatible server (vLLM, TGI, SGLang, llama.cpp, Ollama).

Generation is streamed so each request's first token and inter-token gaps are timed on
arrival; log-likelihoods use `echo` + `logprobs` (lm-evaluation-harness's convention: one
new token is requested and ignored, because several servers read max_tokens=0 as
"unlimited"). Requests run concurrently under the variant's load knobs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from harness.backends.base import Backend, BackendInfo, Progress
from harness.backends.openai import http as net
from harness.backends.openai.echo import score_echo
from harness.backends.openai.http import import_httpx
from harness.backends.openai.served_config import served_resolved
from harness.backends.openai.window import ServerWindow
from harness.backends.resolved import ResolvedConfig
from harness.backends.server_launch import LaunchedServer
from harness.backends.stops import cut_at_stop
from harness.core.errors import UserError
from harness.core.requests import (
    Generate,
    GenerateResponse,
    LogLikelihood,
    LogLikelihoodResponse,
    RollingLogLikelihood,
    RollingResponse,
)
from harness.core.values import Scalar
from harness.hardware.shapes import ModelShape, gguf_shape
from harness.suite.schema import ServerConfig

if TYPE_CHECKING:
    from harness.backends.openai.options import OpenAIOptions

T = TypeVar("T")


class OpenAIBackend(Backend):
    """Answers the three request kinds over HTTP; `close` stops a server it launched."""

    def __init__(
        self,
        server: ServerConfig,
        url: str,
        headers: dict[str, str],
        options: OpenAIOptions,
        info: BackendInfo,
        launched: LaunchedServer | None = None,
        model_file: Path | None = None,
    ) -> None:
        self.model_file = model_file  # the file a launched server loaded, for its shapes
        self.server = server
        self.url = url.rstrip("/")
        self.headers = headers
        self.concurrency: int | None = None
        self.rate: float | None = None
        self.set_load(options)
        self.info = info
        self.launched = launched
        self.httpx = import_httpx()
        self.client_tokenizer_source: str | None = None
        self.server_reports: dict[str, Scalar] = {}  # its /v1/models entry, its version
        self._window: ServerWindow | None = None

    def set_load(self, options: OpenAIOptions) -> None:
        """The load the next windows offer: a new load level on the same server."""
        self.concurrency, self.rate = options.concurrency, options.request_rate
        if self.concurrency is None and self.rate is None:
            self.concurrency = 1  # unloaded: one request at a time

    def switch_load(self, knobs: Mapping[str, Scalar]) -> bool:
        from harness.backends.openai.options import OpenAIOptions

        self.set_load(OpenAIOptions.model_validate(dict(knobs)))
        return True

    def served_window(self) -> ServerWindow:
        if self._window is None:
            self._window = ServerWindow(self)
        return self._window

    # -- the Backend protocol -------------------------------------------------------------

    def generate(
        self, reqs: Sequence[Generate], progress: Progress | None = None
    ) -> list[GenerateResponse]:
        jobs = [self._generate_job(r) for r in reqs]
        return self._run("generate", jobs, progress)

    def loglikelihood(
        self, reqs: Sequence[LogLikelihood], progress: Progress | None = None
    ) -> list[LogLikelihoodResponse]:
        jobs = [self._echo_job(r.context + r.continuation, len(r.context)) for r in reqs]
        return self._run("loglikelihood", jobs, progress)

    def loglikelihood_rolling(
        self, reqs: Sequence[RollingLogLikelihood], progress: Progress | None = None
    ) -> list[RollingResponse]:
        jobs = [self._echo_job(r.text, 0) for r in reqs]
        scored = self._run("loglikelihood_rolling", jobs, progress)
        return [RollingResponse(r.logprob, r.n_tokens, retries=r.retries) for r in scored]

    def count_tokens(self, text: str) -> int:
        """Through llama.cpp's /extras/tokenize/count or vLLM's /tokenize, where offered."""
        root = self.url.removesuffix("/v1")
        for path, key in (("/extras/tokenize/count", "count"), ("/tokenize", "count")):
            payload = {"model": self.server.model, "input": text, "prompt": text}
            try:
                reply = self.httpx.post(root + path, json=payload, headers=self.headers)
            except self.httpx.HTTPError:
                continue
            try:  # a server without the route may answer 200 with something else
                found = reply.json() if reply.status_code == 200 else None
            except ValueError:
                found = None
            if isinstance(found, dict) and key in found:
                return int(found[key])
        raise UserError(f"the server at {self.url} offers no tokenize endpoint to count tokens")

    def synchronize(self) -> None:
        return None

    def resolved(self) -> ResolvedConfig:
        """The load offered now (a load sweep retargets it), and what the server reports."""
        return served_resolved(self.info.device, self.concurrency, self.rate, self.server_reports)

    def model_shape(self) -> ModelShape | None:
        if self.model_file is None or self.model_file.suffix != ".gguf":
            return None
        return gguf_shape(self.model_file)

    def shape_unavailable(self) -> str:
        if self.model_file is None:
            return "a server the suite did not launch from a local file: its shapes are unknown"
        return f"shapes are read from GGUF files only, not from {self.model_file.name}"

    @property
    def peak_device(self) -> str | None:
        """This machine's CPU, for a server launched here where no GPU is visible; a
        server that may use a GPU, or runs elsewhere, has no peaks this process can take."""
        if self.model_file is None:
            return None
        import torch

        return None if torch.cuda.is_available() else "cpu"

    def close(self) -> None:
        if self.launched is not None:
            self.launched.stop()

    # -- requests ---------------------------------------------------------------------------

    def _generate_job(
        self, req: Generate
    ) -> Callable[[Any, float], Coroutine[Any, Any, GenerateResponse]]:
        chat = self.server.chat or req.chat
        payload: dict[str, Any] = {
            "model": self.server.model,
            "max_tokens": req.max_new_tokens,
            "temperature": 0.0,
            "stream": True,
            "stream_options": {"include_usage": True},
            **self.server.params,
        }
        if req.stop:
            payload["stop"] = list(req.stop)
        if req.ignore_eos:
            payload["ignore_eos"] = True
        if chat:
            payload["messages"] = [{"role": "user", "content": req.prompt}]
        else:
            payload["prompt"] = req.prompt
        path = "/chat/completions" if chat else "/completions"

        async def job(client: Any, started: float) -> GenerateResponse:
            got = await net.stream_completion(
                client, self.httpx, self.url + path, payload, self.server.max_retries, started
            )
            n_out = got.completion_tokens if got.completion_tokens is not None else got.n_chunks
            return GenerateResponse(
                # A server that ignores `stop` still answers with the text before it, as the
                # in-process engines do.
                text=cut_at_stop(got.text, req.stop),
                n_in=got.prompt_tokens,
                n_out=n_out,
                ttft_s=got.ttft_s,
                latency_s=got.latency_s,
                itl_s=tuple(got.itl_s),
                decode_steps=n_out,
                retries=got.retries,
                error=got.error,
                n_out_server=got.completion_tokens,
                sent_at_s=started,
            )

        return job

    def _echo_job(
        self, text: str, scored_from: int
    ) -> Callable[[Any, float], Coroutine[Any, Any, LogLikelihoodResponse]]:
        payload = {
            "model": self.server.model,
            "prompt": text,
            "max_tokens": 1,
            "temperature": 0.0,
            "echo": True,
            "logprobs": 1,
            **self.server.params,
        }

        async def job(client: Any, started: float) -> LogLikelihoodResponse:
            body, retries = await net.post_json(
                client, self.httpx, self.url + "/completions", payload, self.server.max_retries
            )
            return score_echo(body, text, scored_from, retries, self.url)

        return job

    def _run(
        self,
        kind: str,
        jobs: Sequence[Callable[[Any, float], Coroutine[Any, Any, T]]],
        progress: Progress | None,
    ) -> list[T]:
        def tick() -> None:
            if progress is not None:
                progress(1)

        async def main() -> list[T]:
            timeout = self.httpx.Timeout(self.server.timeout_s, connect=10.0)
            limits = self.httpx.Limits(max_connections=None, max_keepalive_connections=None)
            async with self.httpx.AsyncClient(
                headers=self.headers, timeout=timeout, limits=limits
            ) as client:
                bound = [_bind(job, client) for job in jobs]
                return await net.run_load(
                    bound, self.concurrency, self.rate, self.server.arrival_seed, tick
                )

        try:
            return asyncio.run(main())
        except net.ServerGone as err:
            raise UserError(self._gone_message(kind, str(err))) from None
        except net.ServerRefused as err:
            raise UserError(
                f"the server at {self.url} (model '{self.server.model}') refused a {kind} "
                f"request: {err}{_support_hint(kind)}"
            ) from None

    def _gone_message(self, kind: str, why: str) -> str:
        exit_note = ""
        if self.launched is not None and self.launched.process.poll() is not None:
            exit_note = f" The server process exited with code {self.launched.process.poll()}."
        return (
            f"the server at {self.url} (model '{self.server.model}') stopped answering during "
            f"{kind} requests after {self.server.max_retries} retries ({why}).{exit_note} "
            f"This unit failed; finished units are kept (rerun with --resume)."
        )


def _bind(
    job: Callable[[Any, float], Coroutine[Any, Any, T]], client: Any
) -> Callable[[float], Coroutine[Any, Any, T]]:
    return lambda started: job(client, started)


def _support_hint(kind: str) -> str:
    if kind == "generate":
        return ""
    return (
        f". {kind} requests need prompt log-probabilities (`echo` with `logprobs` on "
        "/v1/completions); vLLM and llama-cpp-python's server give them, Ollama and TGI's "
        "OpenAI route do not"
    )
