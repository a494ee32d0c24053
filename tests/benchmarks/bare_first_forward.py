"""`python -m tests.benchmarks.bare_first_forward FOLDER`: the start-up floor. Seconds from
the process's start to the first forward of the same model loaded by hand with transformers
(import, tokenizer, model, one prompt) — what `first_forward` is measured against."""

from __future__ import annotations

import sys
import time

import psutil


def main() -> None:
    started = psutil.Process().create_time()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(sys.argv[1])
    model = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32).eval()
    ids = tokenizer("A gripping, beautifully shot film.", return_tensors="pt").input_ids
    with torch.inference_mode():
        model(input_ids=ids)
    print(f"FIRST_FORWARD_S {time.time() - started:.3f}", flush=True)


if __name__ == "__main__":
    main()
