"""GPU paths on the real SmolLM2: bf16 on CUDA, CUDA memory peaks, synchronized timing.

Skipped (with the reason) where no CUDA device is visible; see conftest.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SMOLLM2_SOURCE, WriteYaml, run_cli

pytestmark = [pytest.mark.gpu, pytest.mark.slow, pytest.mark.network]


def test_bf16_on_cuda_records_cuda_peaks_and_sane_perplexity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_yaml: WriteYaml
) -> None:
    suite = write_yaml(
        tmp_path / "gpu.yaml",
        {
            "name": "gpu",
            "models": [
                {
                    "name": "smollm2-135m",
                    "source": SMOLLM2_SOURCE,
                    "variants": {"axes": {"device": ["cuda"], "dtype": ["float32", "bfloat16"]}},
                }
            ],
            "tasks": [{"name": "lee_news_ppl", "n": 4}],
            "profilers": ["timing", "memory"],
            "timing": {"min_repeats": 3},
        },
    )
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    by_dtype = {r["knobs"]["dtype"]: r for r in records}
    assert set(by_dtype) == {"float32", "bfloat16"}
    for record in records:
        assert record["perf"]["cuda_peak_allocated"]["value"] > 100e6  # weights are on the GPU
        assert len(record["perf"]["wall_time"]["repeats"]) >= 3
    fp32 = by_dtype["float32"]["quality"]["token_perplexity"]["value"]
    bf16 = by_dtype["bfloat16"]["quality"]["token_perplexity"]["value"]
    assert 5 < fp32 < 100 and abs(bf16 - fp32) / fp32 < 0.05
    env = json.loads((out / "manifest.json").read_text())["env"]
    assert isinstance(env["gpu"], list) and env["gpu"][0]["memory_bytes"] > 0
