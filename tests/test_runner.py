"""Runner mechanics on the mock backend: records, samples, manifest, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import run_cli


def _models(n: int) -> list[dict[str, Any]]:
    return [{"name": f"m{i}", "source": "x", "backend": "mock"} for i in range(n)]


@pytest.mark.e2e
def test_run_writes_records_samples_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ppl_suite: Any
) -> None:
    suite = ppl_suite(_models(1), {"mock_quality": [1.0, 2.0]}, tasks=2)
    out = tmp_path / "run"
    monkeypatch.chdir(tmp_path)  # the default report goes to ./reports/<suite>/<run-id>.md
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out)) == 0
    assert "token_perplexity" in (tmp_path / "reports" / "t" / "run.md").read_text()
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert len(records) == 4
    for rec in records:
        for key in (
            "schema_version",
            "run_id",
            "suite",
            "task",
            "variant_id",
            "model",
            "n_params",
            "knobs",
            "quality",
            "perf",
            "unavailable",
        ):
            assert key in rec
        ppl = rec["quality"]["token_perplexity"]
        assert ppl["ci_low"] <= ppl["value"] <= ppl["ci_high"] and ppl["n"] == 5
        assert ppl["higher_is_better"] is False and ppl["unit"] == "ppl"
        assert rec["perf"]["wall_time"]["unit"] == "s" and rec["perf"]["peak_rss"]["value"] > 0
    ids = {r["variant_id"] for r in records}
    assert ids == {"m0@mock_quality=1.0", "m0@mock_quality=2.0"}
    samples = (out / "samples.jsonl").read_text().splitlines()
    assert len(samples) == 4 * 5
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("suite_sha256", "env", "run_id", "tasks"):
        assert key in manifest
    for key in ("python", "cpu", "logical_cores", "libraries", "git_sha"):
        assert key in manifest["env"]


@pytest.mark.e2e
def test_existing_run_needs_resume(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ppl_suite: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    suite = ppl_suite(_models(1))
    out = tmp_path / "run"
    args = ["run", str(suite), "--out", str(out), "--no-report"]
    assert run_cli(monkeypatch, *args) == 0
    assert run_cli(monkeypatch, *args) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert run_cli(monkeypatch, *args, "--resume") == 0
    assert len((out / "records.jsonl").read_text().splitlines()) == 1


@pytest.mark.e2e
def test_sigkill_then_resume_holds_each_unit_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ppl_suite: Any
) -> None:
    suite = ppl_suite(_models(3), {"mock_delay_s": [0.05]}, tasks=2)
    # one timed window per unit (about 0.25 s of mock delay) keeps the kill mid-run, cheaply
    spec = yaml.safe_load(suite.read_text())
    suite.write_text(yaml.safe_dump({**spec, "timing": {"min_repeats": 1}}))
    out = tmp_path / "run"
    args = ["run", str(suite), "--out", str(out), "--no-report"]
    command = [sys.executable, "-m", "harness.cli", *args]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = out / "records.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if records.exists() and records.read_text().count("\n") >= 2:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = records.read_text().count("\n")
    assert 2 <= first < 6, "the kill should land mid-run"
    # the killed process is the real thing; resuming needs no fresh interpreter
    assert run_cli(monkeypatch, *args, "--resume") == 0
    units = Counter(
        (r["variant_id"], r["task"]) for r in map(json.loads, records.read_text().splitlines())
    )
    assert len(units) == 6 and set(units.values()) == {1}
    samples = Counter(
        (s["variant_id"], s["task"], s["sample_id"])
        for s in map(json.loads, (out / "samples.jsonl").read_text().splitlines())
    )
    assert len(samples) == 6 * 5 and set(samples.values()) == {1}


@pytest.mark.e2e
def test_report_writes_markdown_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ppl_suite: Any
) -> None:
    suite = ppl_suite(_models(2))
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    target = tmp_path / "report.md"
    assert run_cli(monkeypatch, "report", str(out), "--out", str(target)) == 0
    text = target.read_text()
    assert "### ppl_0" in text and "token_perplexity (ppl) ↓" in text
    assert "| m0 |" in text and "| m1 |" in text and "sha256" in text


def test_report_of_missing_folder_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(monkeypatch, "report", str(tmp_path / "nope")) == 2


@pytest.mark.e2e
def test_help_does_not_import_torch() -> None:
    code = (
        "import sys; sys.argv=['limitbench','--help']\n"
        "from harness.cli import main\n"
        "try: main()\nexcept SystemExit: pass\n"
        "import harness.run.runner, harness.hardware.fingerprint, harness.adapters\n"
        "import harness.backends\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
