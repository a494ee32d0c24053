"""The gate catches what it claims, on a synthetic run of 104 primary comparisons: one planted
regression per metric kind (accuracy, bits per byte, BLEU, speed) fails, every other unit
passes, and a clean copy passes — with the default rules, with `underpowered: warn`, and with
one Holm family over the whole run. Before this, a doubled bits-per-byte on one unit of a
76-unit run passed (Holm over every primary of the run, and a bootstrap p-value floored at
1/1001), and so did a zeroed accuracy under `underpowered: warn`.

Scores are real: classification rows from the adapter's own `choice_scores`, BLEU statistics
from sacrebleu on real sentence pairs, perplexity rows with bytes and log-likelihoods.
"""

from __future__ import annotations

import json
import statistics
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.adapters.choice import ClassificationAdapter
from harness.adapters.generation import TranslationAdapter
from harness.adapters.perplexity import PerplexityAdapter
from harness.core.values import Value
from harness.metrics.choice import choice_scores
from harness.metrics.spec import metric_specs
from harness.metrics.text import sentence_stats
from harness.store.records import Record, RunStore
from harness.store.runfiles import SampleRow
from tests.conftest import make_fingerprint, make_manifest, run_cli

Rows = list[dict[str, float]]
N_CLS, N_PPL, N_MT = 400, 80, 40
# (task, adapter, its metrics, the primary, variants): 60 + 34 + 10 = 104 primaries
TASKS = (
    ("cls", "classification", ClassificationAdapter.metrics, "accuracy", 60),
    ("ppl", "perplexity", PerplexityAdapter.metrics, "bits_per_byte", 34),
    ("mt", "translation", TranslationAdapter.metrics, "bleu", 10),
)
PLANTED = {  # one unit per metric kind, in the middle of the run
    ("cls", "v031"): "accuracy",
    ("ppl", "v017"): "bits_per_byte",
    ("mt", "v005"): "bleu",
    ("cls", "v044"): "input_tokens_per_s",
}
WORDS = [
    "the",
    "model",
    "reads",
    "a",
    "short",
    "sentence",
    "and",
    "writes",
    "another",
    "one",
    "that",
    "means",
    "nearly",
    "the",
    "same",
    "thing",
    "in",
    "plain",
    "words",
    "while",
    "the",
    "gate",
    "compares",
    "both",
    "runs",
    "sample",
    "by",
    "sample",
]


def _cls_rows(rng: np.random.Generator, drop: bool) -> Rows:
    right = rng.random(N_CLS) < 0.8
    if drop:  # a tenth of the right answers turn wrong: accuracy 0.8 -> 0.72
        flip = np.flatnonzero(right)[: N_CLS // 12]
        right[flip] = False
    return [
        dict(choice_scores([-0.1, -3.0] if r else [-3.0, -0.1], [3, 3], 0, [4, 4])) for r in right
    ]


def _ppl_rows(rng: np.random.Generator, drop: bool) -> Rows:
    n_bytes = rng.integers(200, 2000, N_PPL).astype(float)
    logprob = -n_bytes * rng.uniform(0.6, 0.8, N_PPL)
    if drop:  # bits per byte doubled
        logprob = 2 * logprob
    return [
        {"logprob": float(lp), "n_bytes": float(b)} for lp, b in zip(logprob, n_bytes, strict=True)
    ]


def _sentence(rng: np.random.Generator) -> str:
    return " ".join(rng.choice(WORDS, 12))


def _mt_rows(rng: np.random.Generator, drop: bool) -> Rows:
    rows = []
    for _ in range(N_MT):
        ref = _sentence(rng)
        words = ref.split()
        keep = 4 if drop else 10  # the planted system keeps only a third of each reference
        hyp = " ".join(words[:keep] + list(rng.choice(WORDS, 12 - keep)))
        rows.append(sentence_stats("bleu", hyp, ref))
    return rows


ROWS: dict[str, Callable[[np.random.Generator, bool], Rows]] = {
    "cls": _cls_rows,
    "ppl": _ppl_rows,
    "mt": _mt_rows,
}


def _speed(value: float, jitter: np.random.Generator | None) -> Value:
    repeats = [value * (1 + (jitter.uniform(-0.02, 0.02) if jitter else 0.0)) for _ in range(3)]
    return Value(
        value=statistics.median(repeats), unit="tok/s", higher_is_better=True, repeats=repeats
    )


def _unit(task: str, variant: str, planted: set[str], jitter: np.random.Generator | None) -> Any:
    name, adapter, metrics, primary, _ = next(t for t in TASKS if t[0] == task)
    rng = np.random.default_rng(zlib.crc32(f"{task}/{variant}".encode()))
    rows = ROWS[task](rng, primary in planted)
    specs = metric_specs([m for m in metrics if m.name == primary], (primary,))
    quality = {primary: Value(value=specs[primary].reduce(rows), unit="u")}
    speed = 50.0 if "input_tokens_per_s" in planted else 100.0
    record = Record(
        run_id="r",
        suite="snap",
        task=name,
        task_version=1,
        adapter=adapter,
        variant_id=variant,
        model="m",
        n_params=1,
        knobs={},
        quality=quality,
        metrics=specs,
        perf={"input_tokens_per_s": _speed(speed, jitter)},
        started_at="t",
        wall_s=1.0,
        env=make_fingerprint(),
    )
    samples = [
        SampleRow(variant_id=variant, task=name, sample_id=f"{name}-{i}", scores=r)
        for i, r in enumerate(rows)
    ]
    return record, samples


def _write(folder: Path, planted: bool, jitter_seed: int | None) -> Path:
    store = RunStore(folder)
    store.create(make_manifest(make_fingerprint()))
    jitter = np.random.default_rng(jitter_seed) if jitter_seed is not None else None
    for task, *_, n_variants in TASKS:
        for k in range(n_variants):
            variant = f"v{k:03d}"
            what = {PLANTED[(task, variant)]} if planted and (task, variant) in PLANTED else set()
            store.append_unit(*_unit(task, variant, what, jitter))
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("planted")
    return {
        "base": _write(root / "base", planted=False, jitter_seed=1),
        "clean": _write(root / "clean", planted=False, jitter_seed=2),
        "planted": _write(root / "planted", planted=True, jitter_seed=2),
    }


def _gate(mp: pytest.MonkeyPatch, runs: dict[str, Path], cand: str, rules: str, tmp: Path) -> Any:
    out, rules_file = tmp / f"{cand}.json", tmp / "rules.yaml"
    rules_file.write_text(rules or "{}\n")
    args = ["gate", "--baseline", str(runs["base"]), "--candidate", str(runs[cand])]
    code = run_cli(mp, *args, "--rules", str(rules_file), "--json", str(out))
    return code, json.loads(out.read_text())


RULES = {
    "default": "",
    "underpowered warn": "quality: {underpowered: warn}\n",
    "one family for the run": "family: run\n",
}


@pytest.mark.e2e
@pytest.mark.parametrize("rules", list(RULES))
def test_every_planted_regression_fails_and_the_clean_copy_passes(
    runs: dict[str, Path], rules: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, verdict = _gate(monkeypatch, runs, "clean", RULES[rules], tmp_path)
    primaries = [c for c in verdict["comparisons"] if c.get("role") == "primary"]
    assert len(primaries) == 104
    assert code == 0 and verdict["verdict"] == "pass", verdict["counts"]

    code, verdict = _gate(monkeypatch, runs, "planted", RULES[rules], tmp_path)
    failing = {
        (c["task"], c["variant_id"]): c["metric"]
        for c in verdict["comparisons"]
        if c["status"] in ("fail", "missing", "inconclusive")
    }
    assert code == 1 and failing == PLANTED
    bpb = next(c for c in verdict["comparisons"] if (c["task"], c["variant_id"]) == ("ppl", "v017"))
    assert bpb["p_value"] < 0.05 / 104  # below even a whole-run Holm threshold
    assert "normal tail" in bpb["method"]


@pytest.mark.e2e
def test_a_zeroed_accuracy_fails_at_small_n_even_when_underpowered_only_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SmolLM2's 0.45 -> 0 at n = 20 (p = 0.002) passed in a 38-unit run under `warn`."""
    folders = {}
    for name in ("base", "cand"):
        store = RunStore(tmp_path / name)
        store.create(make_manifest(make_fingerprint()))
        for k in range(38):
            zeroed = name == "cand" and k == 20
            right = [not zeroed and i < 9 for i in range(20)]  # 9 of 20: accuracy 0.45
            record, _ = _unit("cls", f"v{k:03d}", set(), None)
            samples = [
                SampleRow(
                    variant_id=record.variant_id,
                    task="cls",
                    sample_id=f"s{i}",
                    scores=choice_scores([-0.1, -3.0] if r else [-3.0, -0.1], [3, 3], 0, [4, 4]),
                )
                for i, r in enumerate(right)
            ]
            store.append_unit(record, samples)
        folders[name] = tmp_path / name
    rules = tmp_path / "warn.yaml"
    rules.write_text("quality: {underpowered: warn}\n")
    out = tmp_path / "v.json"
    args = ["gate", "--baseline", str(folders["base"]), "--candidate", str(folders["cand"])]
    code = run_cli(monkeypatch, *args, "--rules", str(rules), "--json", str(out))
    verdict = json.loads(out.read_text())
    zeroed = next(
        c for c in verdict["comparisons"] if c["variant_id"] == "v020" and c["metric"] == "accuracy"
    )
    assert code == 1 and zeroed["status"] == "fail"
    assert zeroed["p_value"] == pytest.approx(0.5**9)
    others = [c for c in verdict["comparisons"] if c["metric"] == "accuracy" and c is not zeroed]
    assert {c["status"] for c in others} == {"warn"}  # underpowered at n = 20, not failing
