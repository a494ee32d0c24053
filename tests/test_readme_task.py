"""The README's "Writing a task" example runs as written: its files, its command."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

TASK_DOC = Path(__file__).resolve().parent.parent / "docs" / "tasks.md"


def readme_examples() -> dict[str, str]:
    """Each fenced block that follows a `<!-- readme-example: NAME -->` marker, by NAME."""
    found = re.findall(
        r"<!-- readme-example: (\S+) -->\n```\w*\n(.*?)```", TASK_DOC.read_text(), re.S
    )
    return dict(found)


def write_example(folder: Path) -> list[str]:
    """Write the example's files into `folder`; returns the command's arguments."""
    examples = readme_examples()
    for name in ("reviews.jsonl", "my_reviews.yaml"):
        (folder / name).write_text(examples[name], encoding="utf-8")
    words = shlex.split(examples["command"].replace("\\\n", " "))
    assert words[:2] == ["limitbench", "run"]
    return words[2:]


def _samples(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def check_samples(out: Path, folder: Path) -> list[dict[str, Any]]:
    rows = {json.loads(r)["text"]: json.loads(r) for r in (folder / "reviews.jsonl").open()}
    samples = _samples(out)
    assert len(samples) == 6
    assert sorted(s["gold"] for s in samples) == ["neg"] * 3 + ["pos"] * 3
    for sample in samples:
        prompt = sample["prompt"]
        blocks = prompt.split("\n\n")
        assert len(blocks) == 3  # two examples, then the question
        shown = [re.match(r"Review: (.*)\nSentiment: (positive|negative)$", b) for b in blocks[:2]]
        assert all(shown), prompt
        for match in shown:
            assert match is not None
            word = {"pos": "positive", "neg": "negative"}[rows[match[1]]["sentiment"]]
            assert match[2] == word  # each example is followed by its own gold label
        question = re.match(r"Review: (.*)\nSentiment:$", blocks[2])
        assert question is not None
        assert rows[question[1]]["sentiment"] == sample["gold"]
        assert sample["continuations"] == [" positive", " negative"]
        best = max(sample["output"]["logprobs"], key=sample["output"]["logprobs"].get)
        assert sample["output"]["prediction"] == best
        assert sample["scores"]["correct"] == float(best == sample["gold"])
    return samples


@pytest.mark.e2e
def test_readme_classification_example_on_a_tiny_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path
) -> None:
    args = write_example(tmp_path)
    args[args.index("--model") + 1] = str(tiny_model_dir)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", *args, "--out", str(out), "--no-report") == 0
    check_samples(out, tmp_path)


@pytest.mark.slow
@pytest.mark.network
def test_readme_classification_example_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command exactly as the README gives it, on the packaged SmolLM2."""
    args = write_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert run_cli(monkeypatch, "run", *args, "--no-report") == 0
    (out,) = (tmp_path / "results" / "adhoc").iterdir()
    samples = check_samples(out, tmp_path)
    (record,) = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    accuracy = record["quality"]["accuracy"]
    assert accuracy["n"] == 6
    assert accuracy["value"] == pytest.approx(sum(s["scores"]["correct"] for s in samples) / 6)
