"""`report` makes the checks `gate` makes before joining units: a unit recorded twice, the
same run given twice and a missing samples.jsonl are exit 2 with the file named, not a
report with doubled or unpaired numbers; a renamed run folder keeps its per-sample pairing
(records are matched to a folder by its manifest's run id, not its name)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.report_runs import write_deploy_run


def _report(mp: pytest.MonkeyPatch, out: Path, *runs: Path) -> int:
    return run_cli(mp, "report", *map(str, runs), "--out", str(out / "r.md"))


def test_a_unit_recorded_twice_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_deploy_run(tmp_path / "run")
    records = run / "records.jsonl"
    first = records.read_text(encoding="utf-8").splitlines(keepends=True)[0]
    with records.open("a", encoding="utf-8") as f:
        f.write(first)
    lines = len(records.read_text(encoding="utf-8").splitlines())
    assert _report(monkeypatch, tmp_path, run) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert f"records.jsonl:{lines}: a second record of task 'topic' on 'm'" in err
    assert "Traceback" not in err and not (tmp_path / "r.md").exists()


def test_the_same_run_twice_and_a_missing_samples_file_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_deploy_run(tmp_path / "run")
    assert _report(monkeypatch, tmp_path, run, run) == 2
    assert "run 'run1' is already given as" in capsys.readouterr().err.replace("\n", " ")
    (run / "samples.jsonl").unlink()
    assert _report(monkeypatch, tmp_path, run) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert "samples.jsonl: missing; the per-sample scores" in err
    assert not (tmp_path / "r.md").exists()


def test_a_renamed_run_folder_keeps_its_paired_intervals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = write_deploy_run(tmp_path / "run1")  # the folder named as its run id
    renamed = tmp_path / "kept-as-baseline"
    shutil.copytree(run, renamed)
    texts = []
    for folder in (run, renamed):
        out = tmp_path / f"out-{folder.name}"
        assert _report(monkeypatch, out, folder) == 0
        texts.append((out / "r.md").read_text(encoding="utf-8"))
    table = [t.split("## Each variant against its base", 1)[1].split("\n## ", 1)[0] for t in texts]
    assert table[0] == table[1]
    assert "paired" in texts[0] and "| **worse** |" in table[0]
