"""One served load level against a real server (llama-cpp-python's, on the packaged SmolLM2
GGUF, launched by limitbench on 127.0.0.1), with small minimums: the level cycles its four
samples to 32 requests, its percentiles and SLO attainment carry 95% intervals (p99 says why
it has none), the server's own memory is recorded beside the client's, and the report draws
and states all of it. About 30 s on 2 cores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.store.records import RunStore
from tests.conftest import run_cli
from tests.test_serving_llamacpp import suite_data

pytestmark = [pytest.mark.slow, pytest.mark.network]
pytest.importorskip("llama_cpp.server", reason="needs pip install 'limitbench[serving]'")


def write_counting_task(folder: Path) -> None:
    """tasks/counting.yaml: four short prompts the model continues for 8 tokens (a short
    prefill, several decode steps: TTFT, TPOT and gaps all measured, cheaply)."""
    rows = [{"q": f"{k}, {k + 1}, {k + 2}, {k + 3},", "a": f" {k + 4}"} for k in (1, 10, 20, 40)]
    data = folder / "counting.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    task = {
        "name": "counting",
        "adapter": "qa",
        "source": {"format": "jsonl", "path": str(data)},
        "options": {"prompt": "{q}", "target": "{a}", "max_new_tokens": 8, "stop": []},
    }
    (folder / "tasks").mkdir()
    (folder / "tasks" / "counting.yaml").write_text(yaml.safe_dump(task), encoding="utf-8")


def test_a_level_cycles_to_its_minimum_with_intervals_and_server_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = suite_data()
    data["models"][0]["variants"] = {"axes": {"concurrency": [2]}}
    write_counting_task(tmp_path)
    data["task_dirs"] = [str(tmp_path / "tasks")]
    data["tasks"] = ["counting"]
    data["load_level"] = {"min_requests": 32, "min_duration_s": 0}
    data["profilers"] = ["timing", "memory", "serving"]
    data["timing"] = {"min_repeats": 1}
    suite = tmp_path / "level.yaml"
    suite.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    (record,) = RunStore(out).records()
    perf = record.perf
    print({k: (v.value, v.ci_low, v.ci_high, v.n) for k, v in perf.items() if "_p" in k})
    assert record.quality["exact_match"].n == 4  # scored once per distinct sample
    assert perf["e2e_p50"].n == 32 and perf["requests_per_s"].n == 32
    for family in ("ttft", "tpot", "itl", "e2e"):
        p50 = perf[f"{family}_p50"]
        assert p50.ci_low is not None and p50.ci_high is not None
        assert p50.ci_low <= p50.value <= p50.ci_high
    assert perf["ttft_p90"].ci_low is not None  # 32 >= the 29 a p90 interval needs
    assert perf["ttft_p99"].ci_low is None and perf["ttft_p99"].ci_high is None
    assert (
        "needs at least 299 requests; this window had 32" in record.unavailable["ttft_p99_interval"]
    )
    assert "p99 from 32 requests: below the 100 a p99 needs" in (perf["ttft_p99"].note or "")
    attained = perf["slo_attainment"]
    assert attained.n == 32 and attained.ci_low is not None and attained.ci_high is not None
    assert attained.ci_low <= attained.value <= attained.ci_high
    assert attained.ci_high - attained.ci_low < 0.5  # Wilson at n = 32, not at n = 4
    server_rss = perf["server_peak_rss"]
    assert server_rss.value > 100e6 and server_rss.unit == "B"  # the model is loaded there
    assert perf["peak_rss"].value > 0  # the client's own, beside it
    assert "server_gpu_memory" in record.unavailable  # no GPU here: said, not zero
    report = tmp_path / "report.md"
    assert run_cli(monkeypatch, "report", str(out), "--out", str(report)) == 0
    text = report.read_text(encoding="utf-8")
    assert "server peak RSS (process tree)" in text and "client peak RSS" in text
    assert "SLO: TTFT ≤ 1000 ms, TPOT ≤ 50 ms, e2e ≤ 4000 ms for at least 90% of requests" in text
    assert "p99 from fewer than the 100 requests a p99 needs: concurrency=2 (32)" in text
    assert list((tmp_path / "report").glob("serving_*.png"))
