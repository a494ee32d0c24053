"""A served sweep through the runner and the report, against the fake server (mechanics only:
records carry per-request percentiles, goodput and accuracy under the SLO per load level)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.store.records import RunStore
from tests.conftest import WriteYaml, run_cli
from tests.test_serving_mechanics import FAKE


def write_echo_task(tmp_path: Path, write_yaml: WriteYaml, answers: list[str]) -> None:
    """tasks/echo_qa.yaml: question i ends in "abc", its gold answer answers[i]; the fake
    server echoes a prompt's last max_tokens (3) characters, so "abc" is right."""
    rows = [{"q": f"question {i} abc", "a": answer} for i, answer in enumerate(answers)]
    data = tmp_path / "qa.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    write_yaml(
        tmp_path / "tasks" / "echo_qa.yaml",
        {
            "name": "echo_qa",
            "adapter": "qa",
            "source": {"format": "jsonl", "path": str(data)},
            "options": {"prompt": "{q}", "target": "{a}", "max_new_tokens": 3},
        },
    )


@pytest.mark.e2e
def test_a_load_sweep_writes_one_served_record_per_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_yaml: WriteYaml
) -> None:
    write_echo_task(tmp_path, write_yaml, ["abc" if i % 2 else "zzz" for i in range(8)])
    command = ["{python}", FAKE, "--port", "{port}", "--delay-s", "0.02"]
    suite = write_yaml(
        tmp_path / "suite.yaml",
        {
            "name": "served",
            "models": [
                {
                    "name": "fake",
                    "source": "fake",
                    "backend": "openai",
                    "server": {"model": "fake", "command": command},
                    "variants": {
                        "include": [{"concurrency": 1}, {"concurrency": 4}, {"request_rate": 50}]
                    },
                }
            ],
            "tasks": ["echo_qa"],
            "task_dirs": ["tasks"],
            "slo": {"ttft_ms": 60, "tpot_ms": 60},
            "profilers": ["timing", "serving"],
            "timing": {"min_repeats": 1},
            "load_level": {"min_requests": 1, "min_duration_s": 0},  # each sample once
        },
    )
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    records = {r.variant_id: r for r in RunStore(out).records()}
    assert set(records) == {"fake@concurrency=1", "fake@concurrency=4", "fake@request_rate=50"}
    one, four = records["fake@concurrency=1"], records["fake@concurrency=4"]
    assert one.quality["exact_match"].value == 0.5  # the fake echoes the last 3 characters
    for record in records.values():
        assert record.perf["output_tokens_p50"].value == 3
        assert {"ttft_p99", "tpot_p50", "itl_p99", "e2e_p90", "goodput"} <= set(record.perf)
        assert record.quality["exact_match_under_slo"].value <= 0.5
    # the fake server serves requests in parallel threads: four in flight finish faster
    assert four.perf["wall_time"].value < one.perf["wall_time"].value
    report = tmp_path / "r.md"
    assert run_cli(monkeypatch, "report", str(out), "--out", str(report)) == 0
    text = report.read_text(encoding="utf-8")
    assert "highest load meeting the SLO" in text and "request_rate=50" in text
