"""KL against a reference: the coarsened KL's math against an exact computation, the
plan's choice of references and their order, and a run of the tiny model end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.backends.llamacpp.decode import top_k_rows
from harness.core.errors import UserError
from harness.core.requests import RollingLogLikelihood, TopTokens
from harness.metrics.divergence import TokenMismatch, sample_divergence
from harness.run.references import DivergencePlan, plan_divergence, reference_order
from harness.suite.schema import SuiteConfig
from harness.variants import Variant
from tests.conftest import run_cli

ROLLING = frozenset({RollingLogLikelihood})


def _distributions(seed: int, n: int = 40, vocab: int = 50) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(0, 2.5, size=(n, vocab))
    out: np.ndarray = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return out  # log-probabilities


def _top(logprobs: np.ndarray, k: int) -> TopTokens:
    ids, lps = top_k_rows(logprobs, k)
    return TopTokens(np.arange(len(logprobs), dtype=np.int32), ids, lps)


def test_full_vocabulary_gives_the_exact_kl_and_top_k_a_lower_bound() -> None:
    ref, var = _distributions(0), _distributions(0) + 0.0
    var = var + np.random.default_rng(1).normal(0, 0.3, size=var.shape)
    var = var - np.log(np.exp(var).sum(axis=1, keepdims=True))
    exact = (np.exp(ref) * (ref - var)).sum(axis=1)
    full = sample_divergence(_top(ref, 50), _top(var, 50))
    np.testing.assert_allclose(full.kl, exact, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(full.covered, 1.0, atol=1e-6)
    assert np.array_equal(full.top1, ref.argmax(1) == var.argmax(1))
    for k in (3, 10, 25):
        cut = sample_divergence(_top(ref, k), _top(var, k))
        assert np.all(cut.kl <= exact + 1e-7), k
        assert np.all(cut.covered < 1.0)
        assert np.array_equal(cut.top1, full.top1)  # the argmax never depends on k
    coarse, fine = (sample_divergence(_top(ref, k), _top(var, k)).kl.mean() for k in (3, 25))
    assert coarse < fine <= exact.mean() + 1e-9  # the bound tightens as k grows


def test_same_distributions_have_zero_kl_and_full_agreement() -> None:
    ref = _distributions(3)
    same = sample_divergence(_top(ref, 8), _top(ref, 8))
    assert np.allclose(same.kl, 0.0, atol=1e-9) and same.top1.all()


def test_other_tokens_are_not_compared() -> None:
    ref = _top(_distributions(4), 5)
    other = TopTokens(ref.targets + 1, ref.ids, ref.logprobs)
    with pytest.raises(TokenMismatch, match="tokenizers differ"):
        sample_divergence(ref, other)


def test_top_k_rows_matches_a_full_sort() -> None:
    logits = np.random.default_rng(5).normal(size=(7, 30)).astype(np.float32)
    ids, lps = top_k_rows(logits, 4)
    full = logits - np.log(np.exp(logits.astype(np.float64)).sum(axis=1, keepdims=True))
    order = np.argsort(-full, axis=1)[:, :4]
    assert np.array_equal(ids, order)
    np.testing.assert_allclose(lps, np.take_along_axis(full, order, axis=1), rtol=1e-6)


def _suite(models: list[dict[str, Any]]) -> SuiteConfig:
    return SuiteConfig.model_validate({"name": "s", "models": models, "tasks": ["ppl", "qa"]})


def _units(suite: SuiteConfig, *knobs: tuple[int, dict[str, Any]]) -> list[Any]:
    tasks = [("ppl", ROLLING), ("qa", frozenset())]
    variants = [Variant(suite.models[i], tuple(sorted(k.items()))) for i, k in knobs]
    return [(v, tasks) for v in variants]


def test_compression_variants_are_compared_with_their_base() -> None:
    suite = _suite(
        [
            {"name": "m", "source": "a"},
            {"name": "m", "source": "a"},  # a one-knob sweep of the same model
            {"name": "g", "source": "a", "backend": "llamacpp"},
        ]
    )
    units = _units(
        suite,
        (0, {}),
        (1, {"quant": "q8_0"}),
        (1, {"batch_size": 4}),  # a runtime knob: not a compression
        (2, {"quant": "q2_k"}),
        (2, {"quant": "f16"}),
        (2, {"quant": "q8_0"}),
    )
    found = plan_divergence(suite, units, "suite.yaml")
    assert found.reference_of == {
        ("m@quant=q8_0", "ppl"): ("m", "ppl"),
        ("g@quant=q2_k", "ppl"): ("g@quant=f16", "ppl"),
        ("g@quant=q8_0", "ppl"): ("g@quant=f16", "ppl"),
    }
    order = [v.id for v in reference_order([v for v, _ in units], found)]
    assert order == ["m", "m@quant=q8_0", "m@batch_size=4", "g@quant=f16", "g@quant=q2_k",
                     "g@quant=q8_0"]  # fmt: skip
    assert found.keeps_top_tokens(("g@quant=f16", "ppl"))
    assert not found.keeps_top_tokens(("m@batch_size=4", "ppl"))


def test_a_declared_reference_compares_every_variant_with_it() -> None:
    suite = _suite(
        [
            {"name": "teacher", "source": "a"},
            {"name": "student", "source": "b", "reference": "teacher"},
        ]
    )
    found = plan_divergence(suite, _units(suite, (1, {}), (0, {})), "suite.yaml")
    assert found.reference_of == {("student", "ppl"): ("teacher", "ppl")}
    assert [
        v.id for v in reference_order([v for v, _ in _units(suite, (1, {}), (0, {}))], found)
    ] == [
        "teacher",
        "student",
    ]


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("techer", "'techer' is not a model entry of the suite (did you mean 'teacher'?)"),
        ("student", "names itself"),
    ],
)
def test_bad_references_name_the_key(reference: str, message: str) -> None:
    suite = _suite(
        [
            {"name": "teacher", "source": "a"},
            {"name": "student", "source": "b", "reference": reference},
        ]
    )
    with pytest.raises(UserError, match=r"suite\.yaml: key 'models\.1\.reference'") as err:
        plan_divergence(suite, _units(suite, (0, {})), "suite.yaml")
    assert message in str(err.value)


def test_turned_off_compares_nothing() -> None:
    suite = SuiteConfig.model_validate(
        {
            "name": "s",
            "models": [{"name": "m", "source": "a"}],
            "tasks": ["ppl"],
            "kl": {"enabled": False},
        }
    )
    units = _units(suite, (0, {}), (0, {"quant": "q8_0"}))
    assert plan_divergence(suite, units, "s.yaml") == DivergencePlan(64)


@pytest.mark.e2e
def test_a_run_compares_a_pruned_tiny_model_with_its_base(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_model_dir: Path,
    ppl_suite: Callable[..., Path],
) -> None:
    pruned_only = {"include": [{"sparsity": 0.5}]}
    source = str(tiny_model_dir)
    suite = ppl_suite(
        [
            {"name": "tiny", "source": source, "released": "2024-11-01"},
            {"name": "tiny", "source": source, "variants": pruned_only},
        ]
    )
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    records = {r["variant_id"]: r for r in map(json.loads, (out / "records.jsonl").open())}
    pruned = records["tiny@sparsity=0.5"]
    assert records["tiny"]["model_released"] == "2024-11-01" and pruned["model_released"] is None
    kl = pruned["quality"]["kl_to_reference"]
    assert (
        pruned["kl_reference"] in records
        and "kl_to_reference" not in records[pruned["kl_reference"]]["quality"]
    )
    assert kl["value"] > 0 and kl["ci_low"] <= kl["value"] <= kl["ci_high"]
    assert 0 <= pruned["quality"]["top1_agreement"]["value"] < 1
    assert pruned["quality"]["kl_p50"]["value"] <= pruned["quality"]["kl_p99"]["value"]
    assert pruned["metrics"]["kl_p99"]["recomputable"] is False
    rows = [json.loads(line) for line in (out / "samples.jsonl").open()]
    sums = [r["scores"]["kl_sum"] for r in rows if r["variant_id"] == "tiny@sparsity=0.5"]
    tokens = sum(r["scores"]["n_tokens"] for r in rows if r["variant_id"] == "tiny@sparsity=0.5")
    assert sum(sums) / tokens == pytest.approx(kl["value"])
    assert len(list((out / "top_tokens").glob("*.npz"))) == 1  # the reference's only
    assert run_cli(monkeypatch, "report", str(out), "--out", str(tmp_path / "r.md")) == 0
    text = (tmp_path / "r.md").read_text()
    assert "## Distance from the base distribution" in text and "tiny@sparsity=0.5" in text
