"""Decode speed of transformers' generate() per decode mode on this machine: the figures the
hf engine's per-device default (harness/backends/hf/decode_modes.py) was chosen from.

    python -m tests.benchmarks.decode_modes dynamic|static|compiled [new_tokens]

The packaged SmolLM2 in fp32, 8 prompts of one length, greedy, a fixed number of new tokens;
the first call (which compiles, in `compiled`) is reported apart from the median of 3 after.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from harness.backends.hf.decode_modes import DecodeMode, generate_kwargs
from harness.backends.shared_transformers.load import convert_gguf
from harness.suite.sources import resolve
from tests.conftest import SMOLLM2_SOURCE


def main(mode: DecodeMode, new_tokens: int) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = resolve(SMOLLM2_SOURCE, Path("."))
    assert isinstance(source, Path)
    folder = convert_gguf(source)
    tokenizer: Any = AutoTokenizer.from_pretrained(folder, padding_side="left")
    model: Any = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    prompts = [
        f"Question {i}: A farmer has {i + 3} cows and buys {2 * i + 1} more. Each cow gives 7 "
        "litres of milk a day. How many litres does the farmer get in a week? Answer:"
        for i in range(8)
    ]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    tokenizer.pad_token_id = pad
    batch = tokenizer(prompts, return_tensors="pt", padding=True)

    def run() -> float:
        with torch.inference_mode():
            started = time.perf_counter()
            model.generate(
                **batch,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=pad,
                **generate_kwargs(mode, "cpu"),
            )
            return time.perf_counter() - started

    first = run()
    times = [run() for _ in range(3)]
    middle = statistics.median(times)
    print(
        f"{mode}: first call {first:.2f} s; then median {middle:.3f} s (min {min(times):.3f}, "
        f"max {max(times):.3f}); {middle / new_tokens * 1e3:.1f} ms per step"
    )


if __name__ == "__main__":
    chosen = sys.argv[1] if len(sys.argv) > 1 else "dynamic"
    if chosen not in ("dynamic", "static", "compiled"):
        raise SystemExit("usage: python -m tests.benchmarks.decode_modes dynamic|static|compiled")
    main(chosen, int(sys.argv[2]) if len(sys.argv) > 2 else 64)  # type: ignore[arg-type]
