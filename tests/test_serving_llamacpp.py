"""The openai backend against a real server: llama-cpp-python's OpenAI-compatible server on
the packaged SmolLM2 GGUF, started on 127.0.0.1 by the tests and torn down after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.backends.openai.backend import OpenAIBackend
from harness.backends.openai.factory import load_openai
from harness.backends.openai.options import OpenAIOptions
from harness.backends.server_launch import free_port
from harness.core.requests import Generate, LogLikelihood
from harness.store.records import RunStore
from harness.suite.schema import ModelConfig, ServerConfig
from tests.conftest import SMOLLM2_SOURCE, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.network]
pytest.importorskip("llama_cpp.server", reason="needs pip install 'limitbench[serving]'")

SERVING_SUITE = Path(__file__).parents[1] / "suites" / "serving.yaml"
PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):",
    "Once upon a time, in a small village,",
]


def suite_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SERVING_SUITE.read_text(encoding="utf-8"))
    data["task_dirs"] = [str(Path(__file__).parents[1] / "tasks")]
    return data


def served_model(flags: dict[str, str | None] | None = None, **server: Any) -> ModelConfig:
    """The serving suite's model entry; `flags` overrides (None: drops) server CLI flags."""
    entry = suite_data()["models"][0]
    entry.pop("variants")
    command: list[str] = entry["server"]["command"]
    for flag, value in (flags or {}).items():
        at = command.index(flag)
        command[at : at + 2] = [] if value is None else [flag, value]
    entry["server"].update(server)
    return ModelConfig.model_validate(entry)


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAIBackend]:
    model = served_model({"--logits_all": "true"})  # echo log-probs need every position
    backend = load_openai(model, OpenAIOptions(concurrency=1), Path("."))
    assert isinstance(backend, OpenAIBackend)
    yield backend
    backend.close()


def test_greedy_outputs_through_the_server_equal_in_process_ones(server: OpenAIBackend) -> None:
    from llama_cpp import Llama

    from harness.suite.sources import resolve_local

    served = server.generate([Generate(p, 24) for p in PROMPTS])
    local = Llama(str(resolve_local(SMOLLM2_SOURCE)), n_ctx=2048, n_threads=2, verbose=False)
    for prompt, answer in zip(PROMPTS, served, strict=True):
        expected: Any = local.create_completion(prompt, max_tokens=24, temperature=0.0)
        assert answer.text == expected["choices"][0]["text"]
        assert answer.n_out == expected["usage"]["completion_tokens"] == 24
        assert answer.itl_s is not None and len(answer.itl_s) >= 20  # about one chunk a token
    assert (served[0].text or "").strip()  # a real continuation, not an empty string


def test_echo_loglikelihood_pins_llama_cpp_servers_off_by_one(server: OpenAIBackend) -> None:
    """Our parsing sums exactly the continuation's echoed log-probs; llama-cpp-python 0.3.36
    pairs echoed token i with the logits at position i (not i - 1) when the model adds no BOS
    token, as SmolLM2 does, so its prompt log-probs are not log-likelihoods. If this starts
    failing, the server was fixed: assert against `aligned` instead."""
    import numpy as np
    from llama_cpp import Llama

    from harness.suite.sources import resolve_local

    (got,) = server.loglikelihood([LogLikelihood("The capital of France is", " Paris")])
    local = Llama(str(resolve_local(SMOLLM2_SOURCE)), n_ctx=512, logits_all=True, verbose=False)
    context = local.tokenize(b"The capital of France is")
    full = local.tokenize(b"The capital of France is Paris")
    assert full[: len(context)] == context and full[0] != local.token_bos()
    local.eval(full)
    scores = np.asarray(local.scores[: len(full)], dtype=np.float64)
    top = scores.max(-1, keepdims=True)
    logp = scores - top - np.log(np.exp(scores - top).sum(-1, keepdims=True))
    cont = range(len(context), len(full))
    aligned = sum(logp[i - 1, full[i]] for i in cont)  # the true log-likelihood
    shifted = sum(logp[i, full[i]] for i in cont)  # what the server reports
    assert got.n_tokens == len(full) - len(context)
    assert got.logprob == pytest.approx(shifted, abs=1e-3)
    assert aligned > -1.0 and got.logprob < aligned - 5  # " Paris" is likely; served says not


def _levels(out: Path, task: str) -> dict[int, Any]:
    records = [r for r in RunStore(out).records() if r.task == task]
    return {int(r.knobs["concurrency"]): r for r in records}


def test_concurrency_sweep_rises_to_saturation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = suite_data()
    data["timing"] = {"min_repeats": 3}  # medians of 3 windows: this machine is shared
    data["load_level"] = {"min_requests": 1, "min_duration_s": 0}  # each sample once
    suite = tmp_path / "serving.yaml"
    suite.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    levels = _levels(out, "bible_en_fr")
    assert sorted(levels) == [1, 2, 4]
    rate = {c: r.perf["achieved_output_tokens_per_s"].value for c, r in levels.items()}
    ttft = {c: r.perf["ttft_p50"].value for c, r in levels.items()}
    e2e = {c: r.perf["e2e_p90"].value for c, r in levels.items()}
    print("served figures", json.dumps({"tok/s": rate, "ttft_p50": ttft, "e2e_p90": e2e}))
    # llama-cpp-python's server runs one request at a time: throughput holds (it does not
    # collapse) but cannot scale with the load, while queueing pushes latency up. Greedy
    # answers do not depend on the load, so quality is the same at every level.
    # Only orderings that queueing makes large are asserted (a shared machine moves absolute
    # rates by several times); speed targets belong in benchmarks, not in tests.
    assert min(rate.values()) > 0
    assert rate[4] < 2.0 * rate[1]  # saturated: far below the 4x of perfect scaling
    assert ttft[4] > ttft[1] and ttft[2] > ttft[1]
    assert e2e[4] > e2e[1]
    assert len({r.quality["chrf"].value for r in levels.values()}) == 1
    for record in levels.values():
        for key in ("tpot_p50", "tpot_p99", "itl_p90", "goodput", "slo_attainment"):
            assert key in record.perf
    short = _levels(out, "pang_lee_generate")[1]
    assert "exact_match_under_slo" in short.quality
    assert short.quality["exact_match_under_slo"].value <= short.quality["exact_match"].value
    report = tmp_path / "report.md"
    assert run_cli(monkeypatch, "report", str(out), "--out", str(report)) == 0
    text = report.read_text(encoding="utf-8")
    assert "## Serving: latency against throughput" in text and "concurrency=4" in text
    assert list((tmp_path / "report").glob("serving_*.png"))


def test_server_killed_mid_run_fails_the_unit_and_keeps_finished_ones(tmp_path: Path) -> None:
    import psutil

    data = suite_data()
    data["models"][0]["variants"] = {"axes": {"concurrency": [1]}}
    data["tasks"] = [{"name": "pang_lee_generate", "n": 2}, {"name": "bible_en_fr", "n": 16}]
    data["load_level"] = {"min_requests": 1, "min_duration_s": 0}  # each sample once
    suite = tmp_path / "s.yaml"
    suite.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "harness.cli", "run", str(suite), "--out", str(out)]
    run = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not (out / "records.jsonl").exists() or not RunStore(out).records():
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        children = psutil.Process(run.pid).children(recursive=True)
        servers = [p for p in children if "llama_cpp.server" in " ".join(p.cmdline())]
        assert len(servers) == 1
        os.kill(servers[0].pid, signal.SIGKILL)
        _, stderr = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 2
    errors = [line for line in stderr.splitlines() if line.startswith("limitbench: error:")]
    assert len(errors) == 1 and stderr.rstrip().endswith(errors[0])  # one paragraph, last
    assert errors[0].startswith("limitbench: error: the server at http://127.0.0.1:")
    assert "stopped answering during generate requests" in errors[0]
    assert "finished units are kept" in errors[0] and "Traceback" not in stderr
    records = RunStore(out).records()
    assert [r.task for r in records] == ["pang_lee_generate"]


def test_default_interrupting_server_truncates_answers_under_load() -> None:
    """llama-cpp-python's server, left at interrupt_requests=true, aborts a stream when the
    next request arrives: the quality actually served under load drops. The suites turn it
    off; this pins why."""
    prompts = [Generate(p, 24) for p in PROMPTS]
    backend = load_openai(
        served_model({"--interrupt_requests": None}), OpenAIOptions(concurrency=3), Path(".")
    )
    assert isinstance(backend, OpenAIBackend)
    try:
        loaded = backend.generate(prompts)
        backend.concurrency = 1
        alone = backend.generate(prompts)
    finally:
        backend.close()
    assert [r.n_out for r in alone] == [24, 24, 24]
    assert min(r.n_out or 0 for r in loaded) < 24  # at least one answer was cut short


def _cli_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any, **server: Any) -> str:
    data = suite_data()
    data["models"][0]["variants"] = {"axes": {"concurrency": [1]}}
    data["models"][0]["server"].update(server)
    data["tasks"] = [{"name": "pang_lee_generate", "n": 1}]
    tmp_path.mkdir(parents=True, exist_ok=True)
    suite = tmp_path / "s.yaml"
    suite.write_text(yaml.safe_dump(data), encoding="utf-8")
    code = run_cli(monkeypatch, "run", str(suite), "--out", str(tmp_path / "r"), "--no-report")
    assert code == 2
    err: str = capsys.readouterr().err
    return err


def test_wrong_model_name_url_and_missing_key_each_get_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = set(psutil_servers())  # the module's shared server may be running
    err = _cli_error(monkeypatch, tmp_path / "a", capsys, model="smolm2-135m")
    assert "does not serve 'smolm2-135m' (did you mean 'smollm2-135m'?)" in err
    url = f"http://127.0.0.1:{free_port()}/v1"
    err = _cli_error(monkeypatch, tmp_path / "b", capsys, url=url, command=None)
    assert f"no OpenAI-compatible server answers at {url} (key 'server.url')" in err
    monkeypatch.delenv("LB_SERVING_KEY", raising=False)
    err = _cli_error(monkeypatch, tmp_path / "c", capsys, api_key_env="LB_SERVING_KEY")
    assert "'LB_SERVING_KEY', which is not set" in err
    assert set(psutil_servers()) <= before  # every server these runs launched was stopped


def psutil_servers() -> Iterator[int]:
    import psutil

    me = psutil.Process()
    for child in me.children(recursive=True):
        if "llama_cpp.server" in " ".join(child.cmdline()):
            yield child.pid


def test_served_model_entry_validates() -> None:
    assert isinstance(served_model().server, ServerConfig)
