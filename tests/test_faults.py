"""Fault injection: repeated SIGKILLs then --resume, and a full disk while appending.

Bounded in time on the mock engine (each unit ~0.3 s); the real-model orphan case is in
test_no_orphans.py."""

from __future__ import annotations

import errno
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

KILLS = 4


def _suite(ppl_suite: Any) -> Path:
    models = [{"name": f"m{i}", "source": "x", "backend": "mock"} for i in range(4)]
    suite: Path = ppl_suite(models, {"mock_delay_s": [0.05]}, tasks=3)
    spec = yaml.safe_load(suite.read_text())
    suite.write_text(yaml.safe_dump({**spec, "timing": {"min_repeats": 1}}))
    return suite


def _quality(out: Path) -> dict[tuple[str, str], Any]:
    rows = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    return {(r["variant_id"], r["task"]): r["quality"] for r in rows}


def _units(out: Path) -> Counter[tuple[str, str]]:
    rows = map(json.loads, (out / "records.jsonl").read_text().splitlines())
    return Counter((r["variant_id"], r["task"]) for r in rows)


def _sample_keys(out: Path) -> Counter[tuple[str, str, str]]:
    rows = map(json.loads, (out / "samples.jsonl").read_text().splitlines())
    return Counter((s["variant_id"], s["task"], s["sample_id"]) for s in rows)


@pytest.mark.e2e
def test_repeated_sigkills_then_resume_lose_and_double_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ppl_suite: Any
) -> None:
    suite = _suite(ppl_suite)
    reference, out = tmp_path / "ref", tmp_path / "run"
    base = ["run", str(suite), "--no-report"]
    assert run_cli(monkeypatch, *base, "--out", str(reference)) == 0
    kills = 0
    for attempt in range(KILLS):
        resume = ["--resume"] if attempt else []
        command = [sys.executable, "-m", "harness.cli", *base, "--out", str(out), *resume]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        records = out / "records.jsonl"
        before = records.read_text().count("\n") if records.exists() else 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if records.exists() and records.read_text().count("\n") > before:
                time.sleep(0.15)  # land mid-unit, after at least one more finished
                break
            time.sleep(0.02)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills == KILLS
    assert run_cli(monkeypatch, *base, "--out", str(out), "--resume") == 0
    units = _units(out)
    assert len(units) == 12 and set(units.values()) == {1}  # 0 lost, 0 doubled
    assert _quality(out) == _quality(reference)  # values equal an uninterrupted run
    samples = _sample_keys(out)
    assert samples == _sample_keys(reference) and set(samples.values()) == {1}


@pytest.mark.e2e
def test_full_disk_while_appending_is_exit_2_and_resumable(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ppl_suite: Any,
) -> None:
    import harness.store.records as records_module

    suite = _suite(ppl_suite)
    out = tmp_path / "run"
    args = ["run", str(suite), "--out", str(out), "--no-report"]
    real_append = records_module._append_lines
    calls = {"records": 0}

    def append_until_full(path: Path, rows: Any) -> None:
        if path.name == "records.jsonl":
            calls["records"] += 1
            if calls["records"] == 3:  # half a line reaches the disk, then it is full
                path.open("a").write('{"variant_id": "m0", "ta')
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_append(path, rows)

    monkeypatch.setattr(records_module, "_append_lines", append_until_full)
    assert run_cli(monkeypatch, *args) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert f"--out {out}: cannot write (No space left on device)" in message
    assert "free some space" in message and "internal error" not in message
    monkeypatch.setattr(records_module, "_append_lines", real_append)
    assert run_cli(monkeypatch, *args, "--resume") == 0
    units = _units(out)
    assert len(units) == 12 and set(units.values()) == {1}
    assert set(_sample_keys(out).values()) == {1}
