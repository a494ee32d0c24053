"""A tiny OpenAI-compatible HTTP server for unit tests of the openai backend's mechanics.

Streams the prompt's last characters back one per chunk with a fixed gap, echoes prompts with
log-probability -1 per character, and can fail its first N completion requests with 503 or
demand an API key. Not a model: the truth tests use llama-cpp-python's real server.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ARGS = argparse.Namespace()
LOCK = threading.Lock()
COUNT = {"completions": 0, "generated": 0, "resets": 0}
SLOTS: threading.Semaphore | None = None  # --capacity: requests decoded at once


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if ARGS.api_key and self.headers.get("Authorization") != f"Bearer {ARGS.api_key}":
            self._json(401, {"error": "bad key"})
            return False
        return True

    def do_GET(self) -> None:
        if self.path == "/metrics" and ARGS.metrics:
            self._metrics()
        elif self._authorized():
            self._json(200, {"object": "list", "data": [{"id": ARGS.model, "object": "model"}]})

    def _metrics(self) -> None:
        """vLLM's counter names, so the scrape is tested against the format it parses."""
        lines = [
            "# TYPE vllm:generation_tokens_total counter",
            f'vllm:generation_tokens_total{{model_name="{ARGS.model}"}} {COUNT["generated"]}.0',
            "# TYPE vllm:prefix_cache_queries_total counter",
            f'vllm:prefix_cache_queries_total{{model_name="{ARGS.model}"}} {COUNT["generated"]}.0',
            "# TYPE vllm:prefix_cache_hits_total counter",
            f'vllm:prefix_cache_hits_total{{model_name="{ARGS.model}"}} {COUNT["resets"]}.0',
        ]
        data = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if not self._authorized():
            return
        if self.path == "/reset_prefix_cache":
            COUNT["resets"] += 1
            self._json(200 if ARGS.metrics else 404, {})
            return
        with LOCK:
            COUNT["completions"] += 1
            failing = COUNT["completions"] <= ARGS.fail_first
        if failing:
            self._json(503, {"error": "overloaded"})
        elif body.get("echo"):
            self._echo(body)
        else:
            self._stream(body)

    def _echo(self, body: dict[str, Any]) -> None:
        if ARGS.no_logprobs:
            self._json(200, {"choices": [{"text": body["prompt"], "logprobs": None}]})
            return
        text = body["prompt"]
        logprobs = {
            "tokens": [*text, "x"],
            "text_offset": [*range(len(text)), len(text)],
            "token_logprobs": [None] + [-1.0] * len(text),
            "top_logprobs": [None] + [{c: -1.0} for c in text],
        }
        self._json(200, {"choices": [{"text": text + "x", "logprobs": logprobs}]})

    def _stream(self, body: dict[str, Any]) -> None:
        if SLOTS is None:
            self._stream_now(body)
            return
        with SLOTS:  # beyond --capacity a request waits: its first token comes late
            self._stream_now(body)

    def _stream_now(self, body: dict[str, Any]) -> None:
        prompt = body.get("prompt") or body["messages"][-1]["content"]
        pieces = list(prompt[-body.get("max_tokens", 4) :])
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        time.sleep(ARGS.delay_s)  # "prefill"
        for piece in pieces:
            chunk = {"choices": [{"text": piece, "index": 0}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            with LOCK:
                COUNT["generated"] += 1
            time.sleep(ARGS.delay_s)
        if ARGS.usage:
            usage = {"prompt_tokens": len(prompt), "completion_tokens": len(pieces)}
            self.wfile.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", default="fake")
    parser.add_argument("--delay-s", type=float, default=0.01)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--api-key", default="")
    parser.add_argument("--no-logprobs", action="store_true")
    parser.add_argument("--exit-at-once", action="store_true")
    parser.add_argument("--capacity", type=int, default=0)
    parser.add_argument("--metrics", action="store_true")
    parser.add_argument("--usage", action="store_true")
    parser.parse_args(namespace=ARGS)
    global SLOTS
    SLOTS = threading.Semaphore(ARGS.capacity) if ARGS.capacity else None
    if ARGS.exit_at_once:
        raise SystemExit("fake server: refusing to start (test of the launcher)")
    ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
