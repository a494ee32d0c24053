"""A LoRA adapter as a variant: merged into the tiny model and compared with its base
(mechanics, errors); on SmolLM2, an adapter trained here lowers held-out perplexity."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

pytest.importorskip("peft", reason="needs pip install 'limitbench[peft]'")


def _records(out: Path) -> dict[str, Any]:
    return {r["variant_id"]: r for r in map(json.loads, (out / "records.jsonl").open())}


@pytest.fixture(scope="module")
def tiny_adapter(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained LoRA with random (not zero) B matrices, so merging changes the model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    folder = tmp_path_factory.mktemp("tiny-lora")
    get_peft_model(model, config).save_pretrained(str(folder))
    return folder


@pytest.mark.e2e
def test_an_adapter_variant_is_merged_and_compared_with_its_base(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_model_dir: Path,
    tiny_adapter: Path,
    ppl_suite: Callable[..., Path],
) -> None:
    source = str(tiny_model_dir)
    adapted = {"include": [{"adapter": str(tiny_adapter)}]}
    suite = ppl_suite(
        [
            {"name": "tiny", "source": source},
            {"name": "tiny", "source": source, "variants": adapted},
        ]
    )
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    records = _records(out)
    variant = records[f"tiny@adapter={tiny_adapter}"]
    # 4 layers x r=4 x ((32 + 32) q_proj + (32 + 16) v_proj)
    assert variant["perf"]["adapter_params"]["value"] == 4 * 4 * (64 + 48)
    assert "LORA r=4 on q_proj, v_proj" in variant["conventions"]["adapter"]
    assert variant["n_params"] == records["tiny"]["n_params"]  # merged: no extra weights
    assert variant["kl_reference"] == "tiny" and variant["quality"]["kl_to_reference"]["value"] > 0
    base_ppl = records["tiny"]["quality"]["token_perplexity"]["value"]
    assert variant["quality"]["token_perplexity"]["value"] != base_ppl


def test_a_folder_without_an_adapter_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_model_dir: Path,
    ppl_suite: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = {"include": [{"adapter": "no_such_adapter"}]}
    suite = ppl_suite([{"name": "tiny", "source": str(tiny_model_dir), "variants": bad}])
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(tmp_path / "run")) == 2
    err = capsys.readouterr().err
    assert "knob 'adapter' = no_such_adapter" in err and "adapter_config.json" in err
    assert "Traceback" not in err


@pytest.mark.slow
@pytest.mark.network
def test_a_lora_trained_on_lee_news_lowers_held_out_perplexity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.lora import SMOLLM2, train_lee_adapter

    adapter = train_lee_adapter(tmp_path / "lee-lora")
    models = [
        {"name": "smollm2", "source": SMOLLM2},
        {"name": "smollm2", "source": SMOLLM2, "variants": {"include": [{"adapter": "lee-lora"}]}},
    ]
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        json.dumps(
            {
                "name": "lora",
                "models": models,
                "tasks": [{"name": "lee_news_ppl", "n": 8}],
                "timing": {"min_repeats": 1},
            }
        )
    )
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    records = _records(out)
    base, tuned = records["smollm2"], records["smollm2@adapter=lee-lora"]
    assert adapter.is_dir() and tuned["perf"]["adapter_params"]["value"] == 30 * 8 * (1152 + 768)
    ppl = tuned["quality"]["token_perplexity"]["value"]
    assert ppl < 0.97 * base["quality"]["token_perplexity"]["value"]
    assert tuned["quality"]["kl_to_reference"]["value"] > 0.01
    report = tmp_path / "r.md"
    assert run_cli(monkeypatch, "report", str(out), "--out", str(report)) == 0
    row = next(
        line
        for line in report.read_text().splitlines()
        if "| smollm2@adapter=lee-lora | token_perplexity" in line
        or "smollm2@adapter=lee-lora | bits_per_byte" in line
    )
    assert "**better**" in row
