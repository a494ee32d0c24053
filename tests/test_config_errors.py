"""Malformed input exits 2 with one clear message, and nothing already written is lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WriteYaml, run_cli


def _suite(models: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": "bad",
        "models": models or [{"name": "m", "source": "x", "backend": "mock"}],
        "tasks": ["lee_news_ppl"],
        **extra,
    }


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_unknown_key_names_file_key_and_close_match(
    tmp_path: Path,
    write_yaml: WriteYaml,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_yaml(tmp_path / "s.yaml", _suite(profiler=["timing"]))
    assert run_cli(monkeypatch, "run", str(path)) == 2
    message = _error(capsys)
    assert (
        str(path) in message and "'profiler'" in message and "did you mean 'profilers'" in message
    )


def test_unknown_nested_key_gets_nested_match(
    tmp_path: Path,
    write_yaml: WriteYaml,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_yaml(tmp_path / "s.yaml", _suite([{"name": "m", "sorce": "x"}]))
    assert run_cli(monkeypatch, "run", str(path)) == 2
    message = _error(capsys)
    assert "models.0.sorce" in message and "did you mean 'source'" in message


def test_wrong_type(
    tmp_path: Path,
    write_yaml: WriteYaml,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_yaml(tmp_path / "s.yaml", _suite(seed="abc"))
    assert run_cli(monkeypatch, "run", str(path)) == 2
    message = _error(capsys)
    assert "key 'seed'" in message and "integer" in message and "'abc'" in message


def test_malformed_yaml_names_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nmodels: [\n  - a\n tasks: :\n")
    assert run_cli(monkeypatch, "run", str(path)) == 2
    assert "malformed YAML at line" in _error(capsys)


def test_unknown_task_and_knob_get_close_match(
    tmp_path: Path,
    write_yaml: WriteYaml,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_yaml(tmp_path / "s.yaml", {**_suite(), "tasks": ["lee_news_pp"]})
    assert run_cli(monkeypatch, "run", str(path)) == 2
    assert "did you mean 'lee_news_ppl'" in _error(capsys)


def test_unknown_variant_knob(
    tmp_path: Path,
    write_yaml: WriteYaml,
    monkeypatch: pytest.MonkeyPatch,
    corpus_file: Path,
    capsys: pytest.CaptureFixture[str],
    ppl_suite: Any,
) -> None:
    path = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}], {"dtpye": ["float32"]})
    assert run_cli(monkeypatch, "run", str(path)) == 2
    assert "did you mean 'dtype'" in _error(capsys)


def test_missing_model_path(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ppl_suite: Any,
) -> None:
    path = ppl_suite([{"name": "m", "source": str(tmp_path / "nowhere" / "model")}])
    assert run_cli(monkeypatch, "run", str(path), "--out", str(tmp_path / "run")) == 2
    assert "neither an existing path nor a hub id" in _error(capsys)


def test_empty_dataset(
    tmp_path: Path,
    write_yaml: WriteYaml,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ppl_suite: Any,
    corpus_file: Path,
) -> None:
    path = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}])
    corpus_file.write_text("\n\n")
    assert run_cli(monkeypatch, "run", str(path)) == 2
    message = _error(capsys)
    assert "ppl_0.yaml" in message and "holds no usable rows" in message


def test_non_utf8_text_names_file_and_encoding_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ppl_suite: Any,
    corpus_file: Path,
) -> None:
    path = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}])
    corpus_file.write_bytes("caf\xe9 cr\xe8me\n".encode("latin-1"))
    assert run_cli(monkeypatch, "run", str(path)) == 2
    message = _error(capsys)
    assert str(corpus_file) in message and "byte 3" in message and "source.encoding" in message


def test_bad_input_on_resume_keeps_written_records(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    ppl_suite: Any,
    corpus_file: Path,
) -> None:
    path = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}])
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(path), "--out", str(out), "--no-report") == 0
    before = (out / "records.jsonl").read_bytes()
    corpus_file.write_text("")
    assert run_cli(monkeypatch, "run", str(path), "--out", str(out), "--resume") == 2
    assert (out / "records.jsonl").read_bytes() == before


@pytest.mark.parametrize("adapter", ["perplexity", "multiple_choice"])
def test_fewshot_on_an_adapter_that_takes_no_examples(
    adapter: str,
    tmp_path: Path,
    write_yaml: WriteYaml,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    corpus_file: Path,
) -> None:
    """`fewshot.k` used to mean zero-shot silently on these adapters."""
    options: dict[str, Any] = (
        {"max_length": 32}
        if adapter == "perplexity"
        else {"prompt": "{text}", "choices": [" a", " b"]}
    )
    write_yaml(
        tmp_path / "tasks" / "shots.yaml",
        {
            "name": "shots",
            "adapter": adapter,
            "source": {"format": "text", "path": str(corpus_file), "split": "line"},
            "fewshot": {"k": 2},
            "options": options,
        },
    )
    path = write_yaml(tmp_path / "s.yaml", _suite(tasks=["shots"], task_dirs=["tasks"]))
    assert run_cli(monkeypatch, "run", str(path)) == 2
    message = _error(capsys)
    assert "shots.yaml" in message and "'fewshot.k' = 2" in message and adapter in message


def test_missing_data_path_names_the_path_tried(
    tmp_path: Path,
    write_yaml: WriteYaml,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A relative data path is taken from the task file's folder; a missing one says where
    it looked (it used to be reported as "not a hub id", since data/x.jsonl looks like one)."""
    task = write_yaml(
        tmp_path / "tasks" / "mine.yaml",
        {
            "name": "mine",
            "adapter": "perplexity",
            "source": {"format": "jsonl", "path": "data/rows.jsonl"},
        },
    )
    args = ["run", "--model", "x", "--backend", "mock", "--tasks", str(task)]
    assert run_cli(monkeypatch, *args, "--out", str(tmp_path / "run")) == 2
    message = _error(capsys)
    assert f"tried {tmp_path / 'tasks' / 'data' / 'rows.jsonl'}" in message
    assert "no such file" in message and "hub id" not in message
