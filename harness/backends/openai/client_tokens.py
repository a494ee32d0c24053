"""The client's own count of what a server sent, beside the server's `usage`.

Throughput that takes token counts on trust from the server can be off when the server
counts differently (special tokens, a different tokenizer revision, a bug:
kubernetes-sigs/inference-perf#580), so every served window records both counts and flags a
mismatch. The client counts with the model's tokenizer (transformers), loaded once per
backend from the suite's `server.tokenizer`, the model's folder or its GGUF file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.perf_names import TOKEN_TOTAL_FLAG, PerfName
from harness.core.requests import GenerateResponse
from harness.core.values import Value

# Requests whose two counts differ by more than this many tokens count as mismatched:
# re-encoding decoded text can merge the tokens at a stop boundary into one fewer.
TOLERATED_TOKENS = 1
# A window whose totals differ by more than this share is flagged in the record's note.
FLAG_SHARE = TOKEN_TOTAL_FLAG


@dataclass
class ClientTokenizer:
    source: str | None
    _tokenizer: Any = None
    why_not: str = ""

    def encode(self, text: str) -> list[int] | None:
        if self._tokenizer is None and not self.why_not:
            self._load()
        if self._tokenizer is None:
            return None
        ids: list[int] = self._tokenizer.encode(text, add_special_tokens=False)
        return ids

    def _load(self) -> None:
        if self.source is None:
            self.why_not = (
                "no client tokenizer: the model is not on disk here; set 'server.tokenizer' "
                "to its transformers folder or hub id"
            )
            return
        from transformers import AutoTokenizer

        path = Path(self.source)
        try:
            if path.suffix == ".gguf":
                self._tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
            else:
                self._tokenizer = AutoTokenizer.from_pretrained(self.source)
        except (OSError, ValueError) as err:
            self.why_not = f"the client tokenizer did not load from {self.source}: {err}"


def token_count_values(
    responses: Sequence[GenerateResponse], tokenizer: ClientTokenizer
) -> tuple[dict[str, Value], str | None]:
    """The server's output-token total, and beside it the client's and the mismatched
    requests; or why the client could not count."""
    ok = [r for r in responses if r.error is None and r.n_out_server is not None]
    if not ok:
        return {}, "the server reported no token usage (stream_options.include_usage)"
    server = [int(r.n_out_server or 0) for r in ok]
    out: dict[str, Value] = {
        PerfName.OUTPUT_TOKENS_SERVER: Value(
            value=float(sum(server)), unit="tok", higher_is_better=True, n=len(ok),
            note="output tokens the server's usage block reported",
        )
    }  # fmt: skip
    client = [tokenizer.encode(r.text) for r in ok]
    if any(ids is None for ids in client):
        return out, tokenizer.why_not
    counts = [len(ids or ()) for ids in client]
    differ = sum(abs(s - c) > TOLERATED_TOKENS for s, c in zip(server, counts, strict=True))
    share = abs(sum(server) - sum(counts)) / max(sum(server), 1)
    flag = (
        f"; MISMATCH: totals differ by {share:.1%} (> {FLAG_SHARE:.0%})"
        if share > FLAG_SHARE
        else ""
    )
    out[PerfName.OUTPUT_TOKENS_CLIENT] = Value(
        value=float(sum(counts)), unit="tok", higher_is_better=True, n=len(ok),
        note=f"the answers' text re-encoded with the client tokenizer{flag}",
    )  # fmt: skip
    out[PerfName.TOKEN_TOTAL_GAP] = Value(
        value=share, unit="fraction", higher_is_better=False, n=len(ok),
        note=f"|server - client| / server output-token totals{flag}",
    )  # fmt: skip
    out[PerfName.TOKEN_COUNT_MISMATCH] = Value(
        value=differ / len(ok), unit="fraction", higher_is_better=False, n=len(ok),
        note=f"requests whose counts differ by > {TOLERATED_TOKENS} token{flag}",
    )  # fmt: skip
    return out, None
