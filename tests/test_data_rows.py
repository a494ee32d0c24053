"""Data errors are the user's (exit 2 naming file, line and key), and every row is kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.data import load_rows
from harness.data.base import make_sample
from tests.conftest import WriteYaml, run_cli


def _classify_suite(tmp_path: Path, write_yaml: WriteYaml, data: str) -> Path:
    (tmp_path / "rows.jsonl").write_text(data, encoding="utf-8")
    write_yaml(
        tmp_path / "tasks" / "cls.yaml",
        {
            "name": "cls",
            "adapter": "classification",
            "source": {"format": "jsonl", "path": "../rows.jsonl", "label_field": "label"},
            "options": {"prompt": "{text} ->", "labels": {"pos": " good", "neg": " bad"}},
        },
    )
    return write_yaml(
        tmp_path / "suite.yaml",
        {
            "name": "t",
            "models": [{"name": "m", "source": "x", "backend": "mock"}],
            "tasks": ["cls"],
            "task_dirs": ["tasks"],
        },
    )


GOOD = '{"text": "fine film", "label": "pos"}\n{"text": "dull", "label": "neg"}\n'


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ('{"text": "no label here"}', "rows.jsonl:3: no key 'label'"),
        ("7", "rows.jsonl:3: the row is a JSON number, not an object"),
        ('["a", "b"]', "rows.jsonl:3: the row is a JSON array"),
        ('{"text": "x", "label": {"a": 1}}', "rows.jsonl:3: key 'label' is a object"),
        ('{"text": "x", "lable": "pos"}', "(did you mean 'lable'?)"),
        ('{"text": "x", "label": "meh"}', "rows.jsonl:3: sample label 'meh' is not among"),
        ("{not json", "rows.jsonl:3: not valid JSON"),
    ],
)
def test_bad_jsonl_row_exits_2_naming_file_line_and_key(
    bad_line: str,
    expected: str,
    tmp_path: Path,
    write_yaml: WriteYaml,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    suite = _classify_suite(tmp_path, write_yaml, GOOD + bad_line + "\n")
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert expected in err and "internal error" not in err
    assert not out.exists()  # nothing written for a plan that fails


def test_good_rows_run(
    tmp_path: Path, write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = _classify_suite(tmp_path, write_yaml, GOOD)
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(tmp_path / "r"), "--no-report") == 0


def test_repeated_rows_are_kept_with_ids_per_occurrence(tmp_path: Path) -> None:
    lines = ["alpha beta", "gamma", "alpha beta", "delta", "alpha beta"]
    (tmp_path / "c.txt").write_text("\n".join(lines) + "\n")
    source: dict[str, Any] = {"format": "text", "path": "c.txt", "split": "line"}
    kept = load_rows(source, "t.yaml", tmp_path)
    once = make_sample({"text": "gamma", "file": "c.txt"}).id
    first = make_sample({"text": "alpha beta", "file": "c.txt"}).id
    assert len(kept.samples) == 5 and kept.n_duplicates == 2 and kept.duplicates == "keep"
    assert [s.id for s in kept.samples] == [
        first,
        once,  # a row that occurs once keeps its id: older runs still pair with it
        f"{first}~1",
        make_sample({"text": "delta", "file": "c.txt"}).id,
        f"{first}~2",
    ]
    dropped = load_rows({**source, "duplicates": "drop"}, "t.yaml", tmp_path)
    assert [s.fields["text"] for s in dropped.samples] == ["alpha beta", "gamma", "delta"]
    assert dropped.n_duplicates == 2


@pytest.mark.parametrize("policy", ["keep", "drop"])
def test_duplicates_are_counted_in_manifest_and_record(
    policy: str,
    tmp_path: Path,
    write_yaml: WriteYaml,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "c.txt").write_text("one line\nanother line\none line\n")
    write_yaml(
        tmp_path / "tasks" / "p.yaml",
        {
            "name": "p",
            "adapter": "perplexity",
            "source": {"format": "text", "path": "../c.txt", "duplicates": policy},
            "options": {"max_length": 32},
        },
    )
    suite = write_yaml(
        tmp_path / "suite.yaml",
        {
            "name": "t",
            "models": [{"name": "m", "source": "x", "backend": "mock"}],
            "tasks": ["p"],
            "task_dirs": ["tasks"],
        },
    )
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    task = json.loads((out / "manifest.json").read_text())["tasks"]["p"]
    assert task["n_duplicates"] == 1 and task["duplicates"] == policy
    assert task["n"] == (3 if policy == "keep" else 2)
    record = json.loads((out / "records.jsonl").read_text())
    assert record["conventions"]["duplicate_rows"].startswith(
        "kept: 1 row(s)" if policy == "keep" else "dropped: 1 exact"
    )
    assert record["quality"]["token_perplexity"]["n"] == task["n"]
