"""Nothing silently accepted: duplicate YAML keys, exclude rules that match nothing, missing
task folders, unwritable outputs and models that do not load are errors naming the place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import WriteYaml, run_cli


def _mock_suite(ppl_suite: Any, **overrides: Any) -> Path:
    """A one-task mock suite (tests/conftest.py's ppl_suite) with keys replaced."""
    suite: Path = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}])
    spec = yaml.safe_load(suite.read_text())
    suite.write_text(yaml.safe_dump({**spec, **overrides}))
    return suite


def _flat(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    return " ".join(err.split())


def test_duplicate_yaml_key_names_file_line_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: dup\nmodels:\n  - {name: m, source: x, backend: mock}\n"
        "tasks: [lee_news_ppl]\nseed: 1\nseed: 2\n"
    )
    assert run_cli(monkeypatch, "run", str(suite)) == 2
    message = _flat(capsys)
    assert str(suite) in message and "duplicate key 'seed' (first given at line 5)" in message
    assert "line 6" in message


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"dtyp": "float16"}, "'dtyp' is not an axis of this sweep, so the rule excludes nothing"),
        ({"dtype": "float61"}, "dtype = 'float61' is not among the axis' values"),
    ],
)
def test_exclude_rule_that_matches_nothing_is_an_error(
    rule: dict[str, Any],
    expected: str,
    ppl_suite: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    variants = {"axes": {"dtype": ["float32", "float16"]}, "exclude": [rule]}
    suite = _mock_suite(ppl_suite, variants=variants)
    assert run_cli(monkeypatch, "run", str(suite)) == 2
    message = _flat(capsys)
    assert "key 'variants.exclude.0'" in message and expected in message
    if "dtyp" in rule:
        assert "did you mean 'dtype'?" in message


def test_unknown_key_in_include_entry_gets_close_match(
    ppl_suite: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = _mock_suite(ppl_suite, variants={"include": [{"dtyp": "float16"}]})
    assert run_cli(monkeypatch, "run", str(suite)) == 2
    assert "did you mean 'dtype'?" in _flat(capsys)


def test_missing_task_dir(
    ppl_suite: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = _mock_suite(ppl_suite, task_dirs=["tasks", "my_tasks"])
    assert run_cli(monkeypatch, "run", str(suite)) == 2
    message = _flat(capsys)
    assert "key 'task_dirs.1': folder 'my_tasks' not found" in message and str(suite) in message


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["schema", "--out", "/dev/null/x"], "--out /dev/null/x: cannot write"),
        (["report", "{run}", "--csv", "/nonexistent/x.csv"], "--csv /nonexistent/x.csv: cannot"),
        (["report", "{run}", "--out", "/dev/null/r.md"], "--out /dev/null/r.md: cannot"),
        (["run", "{suite}", "--out", "/dev/null/run"], "--out /dev/null/run: cannot create"),
    ],
)
def test_unwritable_user_paths_exit_2_naming_them(
    args: list[str],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ppl_suite: Any,
) -> None:
    suite = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}])
    run = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(run), "--no-report") == 0
    capsys.readouterr()
    filled = [a.format(run=run, suite=suite) for a in args]
    assert run_cli(monkeypatch, *filled) == 2
    assert expected in _flat(capsys)


@pytest.mark.e2e
def test_model_that_does_not_load_names_entry_and_key_and_leaves_no_folder(
    tmp_path: Path,
    write_yaml: WriteYaml,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    corpus_file: Path,
) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)  # a header and nothing else
    suite = write_yaml(
        tmp_path / "s.yaml",
        {
            "name": "ld",
            "models": [
                {"name": "ok", "source": "x", "backend": "mock"},
                {"name": "broken", "source": str(bad), "backend": "llamacpp"},
            ],
            "tasks": ["p"],
            "task_dirs": ["tasks"],
        },
    )
    write_yaml(
        tmp_path / "tasks" / "p.yaml",
        {
            "name": "p",
            "adapter": "perplexity",
            "source": {"format": "text", "path": str(corpus_file)},
            "options": {"max_length": 32},
        },
    )
    out = tmp_path / "run"
    # the mock model's unit finishes first and is kept; the broken one is named
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 2
    message = _flat(capsys)
    assert "model entry 'broken' (key 'models.1.source')" in message and str(suite) in message
    assert len((out / "records.jsonl").read_text().splitlines()) == 1
    spec = yaml.safe_load(suite.read_text())
    only_broken = write_yaml(tmp_path / "only.yaml", {**spec, "models": spec["models"][1:]})
    out2 = tmp_path / "run2"
    assert run_cli(monkeypatch, "run", str(only_broken), "--out", str(out2), "--no-report") == 2
    assert "model entry 'broken' (key 'models.0.source')" in _flat(capsys)
    assert not out2.exists()


@pytest.mark.e2e
def test_unreachable_hub_model_is_one_limitbench_paragraph(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ppl_suite: Any,
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_id = "limitbench-tests/no-such-model"
    suite = _mock_suite(ppl_suite, models=[{"name": "hubbed", "source": hub_id}])
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 2
    message = _flat(capsys)
    assert f"key 'source' = '{hub_id}' is a Hugging Face hub id" in message
    assert "HF_HUB_OFFLINE is set" in message and "a 'pip:' package file" in message
    assert not out.exists()
