"""Ad-hoc runs (`run --model --tasks`), `validate`, `--version` and `list`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import WriteYaml, run_cli


@pytest.fixture()
def task_file(tmp_path: Path, corpus_file: Path, write_yaml: WriteYaml) -> Path:
    return write_yaml(
        tmp_path / "my_tasks" / "my_ppl.yaml",
        {
            "name": "my_ppl",
            "adapter": "perplexity",
            "source": {"format": "text", "path": str(corpus_file), "split": "line"},
            "options": {"max_length": 32},
        },
    )


def _flags(task_file: Path, *more: str) -> list[str]:
    return ["--model", "x", "--backend", "mock", "--tasks", str(task_file), *more]


def _records(out: Path) -> list[dict[str, Any]]:
    lines = (out / "records.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line]


def test_adhoc_run_writes_an_ordinary_run_folder(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    task_file: Path,
) -> None:
    out = tmp_path / "run"
    flags = _flags(task_file, "--set", "mock_quality=0.5,0.9", "--profilers", "timing")
    assert run_cli(monkeypatch, "run", *flags, "--out", str(out), "--no-report") == 0
    records = _records(out)
    assert sorted(r["variant_id"] for r in records) == [
        "x@mock_quality=0.5",
        "x@mock_quality=0.9",
    ]
    assert {r["task"] for r in records} == {"my_ppl"}
    suite = yaml.safe_load((out / "suite.yaml").read_text())
    assert suite["models"][0]["variants"] == {"axes": {"mock_quality": [0.5, 0.9]}}
    assert suite["profilers"] == ["timing"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["suite"] == "adhoc"
    assert manifest["suite_path"] == str(out / "suite.yaml")

    capsys.readouterr()
    assert run_cli(monkeypatch, "run", *flags, "--print-suite") == 0
    assert capsys.readouterr().out == (out / "suite.yaml").read_text()

    # A run killed after its first unit resumes with the same flags and runs only the rest.
    lines = (out / "records.jsonl").read_text().splitlines(keepends=True)
    (out / "records.jsonl").write_text(lines[0])
    assert run_cli(monkeypatch, "run", *flags, "--out", str(out), "--resume", "--no-report") == 0
    assert sorted(r["variant_id"] for r in _records(out)) == [
        "x@mock_quality=0.5",
        "x@mock_quality=0.9",
    ]
    # ... and so does the suite file written into the folder, like any suite.
    suite_file = str(out / "suite.yaml")
    assert run_cli(monkeypatch, "run", suite_file, "--out", str(out), "--resume") == 0
    assert len(_records(out)) == 2

    report = tmp_path / "report.md"
    assert run_cli(monkeypatch, "report", str(out), "--out", str(report)) == 0
    assert "my_ppl" in report.read_text()
    assert run_cli(monkeypatch, "gate", "--baseline", str(out), "--candidate", str(out)) == 0


def test_adhoc_resume_with_other_flags_is_refused_and_keeps_the_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    task_file: Path,
) -> None:
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", *_flags(task_file), "--out", str(out), "--no-report") == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    other = _flags(task_file, "--set", "mock_quality=0.5")
    assert run_cli(monkeypatch, "run", *other, "--out", str(out), "--resume") == 2
    err = capsys.readouterr().err
    assert "started with other flags" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


_M = "--model x --tasks"
_BAD_FLAGS = [
    (f"{_M} lee_news_pl", "--tasks: unknown task 'lee_news_pl' (did you mean 'lee_news_ppl'?)"),
    (f"{_M} lee_news_ppl --set dtpye=1", "--set dtpye=1: unknown variant knob 'dtpye' (did you"),
    (f"{_M} lee_news_ppl --set dtype", "--set 'dtype': expected knob=value"),
    (f"{_M} lee_news_ppl --backend hff", "--backend: unknown backend 'hff' (did you mean 'hf'?)"),
    (f"{_M} lee_news_ppl --profilers timng", "--profilers: unknown profiler 'timng' (did you"),
    ("--model ./no/model --tasks lee_news_ppl", "--model ./no/model: no such file or folder"),
    ("--tasks lee_news_ppl", "--model is missing"),
    ("smoke --model x", "give either a suite (smoke) or the ad-hoc flags"),
    ("", "missing SUITE"),
    (
        f"{_M} TASK_FILE --backend mock --set dtype=float33",
        "the ad-hoc suite (--model/--tasks/--set flags): model 'x' (backend 'mock'): knob 'dtype' "
        "is not honoured by this backend",
    ),
]


@pytest.mark.parametrize(("command", "expected"), _BAD_FLAGS)
def test_adhoc_bad_flags_exit_2_naming_the_flag(
    command: str,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    task_file: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    args = command.replace("TASK_FILE", str(task_file)).split()
    assert run_cli(monkeypatch, "run", *args) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "results").exists()  # nothing written for bad input


def test_validate_plans_without_running(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ppl_suite: Any,
) -> None:
    path = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}], {"mock_quality": [1, 2]})
    assert run_cli(monkeypatch, "validate", str(path)) == 0
    out = capsys.readouterr().out
    assert "valid; 2 variant(s), 1 task(s), 2 unit(s)" in out
    assert "ppl_0: perplexity, 5 of 5 sample(s), primary bits_per_byte" in out
    assert not (tmp_path / "results").exists()
    bad = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}], {"dtpye": ["float32"]})
    assert run_cli(monkeypatch, "validate", str(bad)) == 2
    assert "did you mean 'dtype'" in capsys.readouterr().err


def test_version_and_list(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from importlib.metadata import version

    assert run_cli(monkeypatch, "--version") == 0
    assert capsys.readouterr().out.strip() == f"limitbench {version('limitbench')}"
    monkeypatch.setenv("COLUMNS", "200")
    assert run_cli(monkeypatch, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split("│")[1].strip(): line for line in lines if line.count("│") > 4}
    # task, adapter, n, primary metric, description
    cells = [c.strip() for c in rows["lee_news_ppl"].split("│")[1:5]]
    assert cells == ["lee_news_ppl", "perplexity", "20", "bits_per_byte"]
    cells = [c.strip() for c in rows["gsm8k"].split("│")[1:5]]
    assert cells == ["gsm8k", "qa", "8", "exact_match"]


def test_old_sample_rows_without_prompt_or_gold_still_load() -> None:
    from harness.store.runfiles import SampleRow

    fixture = Path(__file__).parent / "fixtures" / "run_v1" / "samples.jsonl"
    rows = [SampleRow.model_validate_json(line) for line in fixture.read_text().splitlines()]
    assert rows and all(r.prompt is None and r.gold is None for r in rows)
