"""A run folder's data is never mixed with another run's or lost to a repair (issue 37)."""

from __future__ import annotations

import json
from collections import Counter
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


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _sample_keys(out: Path) -> Counter[tuple[str, str, str]]:
    rows = _rows(out / "samples.jsonl")
    return Counter((r["variant_id"], r["task"], r["sample_id"]) for r in rows)


@pytest.mark.e2e
def test_damaged_record_line_keeps_its_units_sample_rows_aside(
    tmp_path: Path, finished_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    records = out / "records.jsonl"
    lines = records.read_text().splitlines(keepends=True)
    damaged = json.loads(lines[0])
    unit = (damaged["variant_id"], damaged["task"])
    originals = [
        line
        for line in (out / "samples.jsonl").read_text().splitlines()
        if (json.loads(line)["variant_id"], json.loads(line)["task"]) == unit
    ]
    records.write_text(lines[0][:40] + "\n" + "".join(lines[1:]))  # a torn record line
    keys_before = _sample_keys(out)
    assert run_cli(monkeypatch, "run", str(finished_run), "--out", str(out), "--resume") == 0
    aside = _rows(out / "samples.jsonl.damaged")
    assert [a["text"] for a in aside] == originals  # every row of the unit, restorable
    assert {a["why"] for a in aside} == {
        "a sample row of a unit with no valid record (the unit runs again)"
    }
    assert _sample_keys(out) == keys_before  # the unit ran again: each sample once
    assert Counter((r["variant_id"], r["task"]) for r in _rows(records))[unit] == 1


@pytest.mark.e2e
def test_damaged_sample_row_of_a_finished_unit_makes_it_run_again(
    tmp_path: Path,
    finished_run: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "run"
    samples = out / "samples.jsonl"
    keys_before = _sample_keys(out)
    lines = samples.read_text().splitlines(keepends=True)
    hit = json.loads(lines[1])
    unit = (hit["variant_id"], hit["task"])
    lines[1] = lines[1].replace('"scores":', '"scores": {"bits": tru', 1)  # not JSON now
    samples.write_text("".join(lines))
    old_record = next(
        line
        for line in (out / "records.jsonl").read_text().splitlines()
        if (json.loads(line)["variant_id"], json.loads(line)["task"]) == unit
    )
    capsys.readouterr()
    assert run_cli(monkeypatch, "run", str(finished_run), "--out", str(out), "--resume") == 0
    assert "samples.jsonl:2: not JSON" in capsys.readouterr().err
    assert _sample_keys(out) == keys_before  # not one sample short: the unit ran again
    set_aside = _rows(out / "records.jsonl.damaged")
    assert [a["text"] for a in set_aside] == [old_record]
    assert set_aside[0]["why"] == "its unit has a damaged sample row, so it runs again"
    rows_aside = _rows(out / "samples.jsonl.damaged")
    assert rows_aside[0]["line"] == 2 and rows_aside[0]["text"] == lines[1].rstrip("\n")
    n_unit = sum(1 for k in keys_before if k[:2] == unit)
    assert len(rows_aside) == n_unit  # the damaged row and the unit's intact ones
