"""A run folder's data is never mixed with another run's or lost to a repair (issue 37)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "\n" not in err, err
    return err


@pytest.fixture()
def finished_run(tmp_path: Path, ppl_suite: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A finished mock run of two units; returns its suite (the run is tmp_path/run)."""
    models = [{"name": "m", "source": "x", "backend": "mock"}]
    suite: Path = ppl_suite(models, {"mock_quality": [1.0, 2.0]})
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    return suite


@pytest.mark.e2e
def test_new_run_is_not_written_into_a_folder_that_lost_its_manifest(
    tmp_path: Path,
    finished_run: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "run"
    (out / "manifest.json").unlink()
    before = _files(out)
    capsys.readouterr()
    assert run_cli(monkeypatch, "run", str(finished_run), "--out", str(out), "--no-report") == 2
    message = _one_line_error(capsys)
    assert "2 record(s) in records.jsonl" in message and "no manifest.json" in message
    assert "new --out" in message and "Restore its manifest.json" in message
    assert _files(out) == before
    assert run_cli(monkeypatch, "run", str(finished_run), "--out", str(out), "--resume") == 2
    message = _one_line_error(capsys)
    assert "restore the run's manifest.json" in message and "drop --resume" not in message
    assert _files(out) == before


@pytest.mark.e2e
def test_resume_refuses_records_of_two_run_ids(
    tmp_path: Path,
    finished_run: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "run"
    records = out / "records.jsonl"
    lines = records.read_text().splitlines(keepends=True)
    stranger = json.loads(lines[0]) | {"run_id": "20250101-000000-abcd"}
    records.write_text("".join(lines) + json.dumps(stranger) + "\n")
    before = _files(out)
    capsys.readouterr()
    assert run_cli(monkeypatch, "run", str(finished_run), "--out", str(out), "--resume") == 2
    message = _one_line_error(capsys)
    assert "records of run '20250101-000000-abcd' (line(s) 3)" in message
    assert "besides this run's 'run'" in message
    assert _files(out) == before
