"""Served vLLM on 127.0.0.1, started by limitbench from its separate vLLM environment
(`limitbench setup vllm`; CI builds it): continuous batching makes output throughput rise
with concurrency, the server's counters and both token counts are recorded per level, the
SLO search finds the highest passing level, and a server killed mid-run keeps the finished
units. Runs the shipped suites/serving_vllm.yaml with smaller sizes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.backends.envs import env_dir, env_python
from harness.run.slo_search import read_outcomes
from harness.store.records import Record, RunStore

ROOT = Path(__file__).resolve().parents[1]
SERVER = "vllm.entrypoints.openai.api_server"

pytestmark = [pytest.mark.slow, pytest.mark.network]


@pytest.fixture(scope="module", autouse=True)
def vllm_env() -> None:
    if env_python("vllm") is not None:
        return
    why = f"no vLLM environment at {env_dir('vllm')}: run `limitbench setup vllm`"
    if os.environ.get("CI"):
        pytest.fail(why + " (CI builds it in .ci/run)")
    pytest.skip(why)


def _suite(tmp_path: Path, name: str, **changes: Any) -> Path:
    data = yaml.safe_load((ROOT / "suites" / "serving_vllm.yaml").read_text(encoding="utf-8"))
    data["tasks"] = [{"name": "bible_en_fr", "n": 12}]
    data["load_level"] = {"min_requests": 1, "min_duration_s": 0}  # each sample once
    model = data["models"][0]
    model["variants"] = {"axes": {"concurrency": [1, 2, 4]}}
    model.pop("slo_search")
    for key, value in changes.items():
        (model if key in ("slo_search", "variants") else data)[key] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _run(suite: Path, out: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "harness.cli", "run", str(suite), "--out", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)


def _levels(out: Path) -> dict[int, Record]:
    return {int(r.knobs["concurrency"]): r for r in RunStore(out).records()}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Record]:
    tmp = tmp_path_factory.mktemp("vllm_sweep")
    done = _run(_suite(tmp, "sweep"), tmp / "run")
    assert done.returncode == 0, done.stderr[-3000:]
    return _levels(tmp / "run")


def test_continuous_batching_raises_throughput_with_concurrency(
    sweep: dict[int, Record],
) -> None:
    rate = {c: r.perf["steady_output_tokens_per_s"].value for c, r in sweep.items()}
    print("vLLM served", json.dumps({c: round(v, 1) for c, v in rate.items()}))
    # One request at a time cannot do this: queueing alone keeps throughput flat (the
    # llama.cpp server's sweep holds at ~1x).
    assert rate[4] >= 2.0 * rate[1]
    for record in sweep.values():
        for family in ("ttft", "tpot", "itl", "e2e"):
            assert {f"{family}_p50", f"{family}_p90", f"{family}_p99"} <= set(record.perf)
        server = record.perf["output_tokens_server"].value
        # the server's Prometheus counter over the window equals its usage blocks' sum
        assert record.perf["server_generation_tokens"].value == server
        client = record.perf["output_tokens_client"].value
        assert abs(server - client) <= 0.05 * server  # re-encoding merges a few tokens
        assert record.perf["token_count_mismatch"].value <= 0.25
        assert "prefix_cache_reset" not in record.unavailable  # emptied before each window
        assert record.perf["prefix_cache_hit_rate"].value <= 1
        assert record.quality["chrf"].value > 0  # accuracy on the load test's own answers


def test_slo_search_returns_the_highest_passing_level(tmp_path: Path) -> None:
    """vLLM started with room for two sequences (`--max-num-seqs 2`): up to two requests in
    flight every first token comes within one prefill, a third waits in vLLM's queue for a
    whole answer. Against a 600 ms TTFT bound the search must find 2, the server's capacity,
    by growing 1, 2, 4 and bisecting to 3. The synthetic load (128-word prompts, exactly 64
    tokens out) keeps that wait (about 2.5 s here) far from the bound on either side; on
    translation prompts, whose answers vary, a noisy machine once put 2 of 12 level-2 first
    tokens past 600 ms."""
    suite = _suite(
        tmp_path,
        "search",
        tasks=[{"name": "synthetic_load", "n": 12}],
        slo={"ttft_ms": 600, "attainment": 0.9},
        slo_search={"knob": "concurrency", "start": 1, "max": 8, "judge": "point"},
        variants=None,
    )
    data = yaml.safe_load(suite.read_text(encoding="utf-8"))
    data["models"][0]["server"]["command"] += ["--max-num-seqs", "2"]
    suite.write_text(yaml.safe_dump(data), encoding="utf-8")
    done = _run(suite, tmp_path / "run")
    assert done.returncode == 0, done.stderr[-3000:]
    (outcome,) = read_outcomes(tmp_path / "run")
    print("search", outcome.model_dump_json())
    levels = _levels(tmp_path / "run")
    ttft = {c: [r.perf[f"ttft_{q}"].value for q in ("p50", "p90")] for c, r in levels.items()}
    print("ttft p50/p90 ms by level", ttft)
    assert [lv.level for lv in outcome.levels] == [1, 2, 4, 3]
    assert outcome.highest_passing == 2
    assert "bisected to 2 (next failing level 3)" in outcome.stopped
    for level in outcome.levels:  # every verdict is its record's
        attained = levels[int(level.level)].perf["slo_attainment"].value
        assert level.passed == (attained >= 0.9)
    assert levels[4].perf["ttft_p50"].value > 3 * levels[2].perf["ttft_p50"].value


def test_server_killed_mid_run_keeps_finished_units(tmp_path: Path) -> None:
    import psutil

    # first a synthetic load (64 tokens each, ignore_eos), then a unit the kill cuts short
    tasks = [{"name": "synthetic_load", "n": 4}, {"name": "bible_en_fr", "n": 24}]
    suite = _suite(tmp_path, "kill", tasks=tasks, variants={"axes": {"concurrency": [1]}})
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "harness.cli", "run", str(suite), "--out", str(out)]
    run = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600
        while not (out / "records.jsonl").exists() or not RunStore(out).records():
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        children = psutil.Process(run.pid).children(recursive=True)
        servers = [p for p in children if SERVER in " ".join(p.cmdline())]
        assert len(servers) == 1
        os.kill(servers[0].pid, signal.SIGKILL)
        _, stderr = run.communicate(timeout=180)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 2, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("limitbench: error:")]
    assert len(errors) == 1 and "Traceback" not in stderr
    assert "stopped answering during generate requests" in errors[0]
    assert "finished units are kept" in errors[0]
    (kept,) = RunStore(out).records()
    assert kept.task == "synthetic_load"
    assert kept.quality["requested_length_met"].value == 1.0  # vLLM honours ignore_eos
    assert kept.perf["output_tokens_p50"].value == 64
    left = [
        p for p in psutil.process_iter(["cmdline"]) if SERVER in " ".join(p.info["cmdline"] or [])
    ]
    assert not left  # the server's engine process went with it (its process group)
