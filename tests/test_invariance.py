"""The invariance audit: which configurations the plan audits and repeats, the per-sample flip
and drift statistics against the noise floor, the report's section and the gate's rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.report.analysis.audit import audit_task
from harness.run.invariance import plan_invariance, with_noise_floor
from harness.store.records import Record
from harness.store.runfiles import SampleRow
from harness.suite.schema import InvarianceConfig, SuiteConfig
from harness.variants import Variant
from tests.conftest import WriteYaml, run_cli


def _suite(models: list[dict[str, Any]], **invariance: Any) -> SuiteConfig:
    return SuiteConfig.model_validate(
        {"name": "s", "models": models, "tasks": ["t"], "invariance": invariance}
    )


def _variants(suite: SuiteConfig, *knobs: tuple[int, dict[str, Any]]) -> list[Variant]:
    return [Variant(suite.models[i], tuple(sorted(k.items()))) for i, k in knobs]


def test_the_plan_repeats_each_familys_base_and_names_it_on_every_member() -> None:
    suite = _suite(
        [
            {"name": "m", "source": "a"},
            {"name": "g", "source": "a", "backend": "llamacpp", "reference": "m"},
            {"name": "solo", "source": "b"},
        ],
        enabled=True,
    )
    given = _variants(suite, (0, {"batch_size": 1}), (0, {"batch_size": 8}), (1, {"quant": "f32"}))
    variants = with_noise_floor(suite, [*given, *_variants(suite, (2, {}))])
    ids = [v.id for v in variants]
    assert ids == ["m@batch_size=1", "m@batch_size=1,repeat=2", "m@batch_size=8",
                   "g@quant=f32", "solo", "solo@repeat=2"]  # fmt: skip
    audit = plan_invariance(suite, variants)
    assert audit["g@quant=f32"] == audit["m@batch_size=8"] == audit["m@batch_size=1"]
    assert audit["m@batch_size=1"] == "m@batch_size=1" and audit["solo@repeat=2"] == "solo"


def test_a_listed_repeat_is_kept_and_a_disabled_audit_plans_nothing() -> None:
    suite = _suite([{"name": "m", "source": "a"}], enabled=True)
    listed = _variants(suite, (0, {}), (0, {"repeat": 3}))
    assert with_noise_floor(suite, listed) == listed
    off = _suite([{"name": "m", "source": "a"}])
    assert with_noise_floor(off, listed[:1]) == listed[:1]
    assert plan_invariance(off, listed) == {}


def _record(variant: str, knobs: dict[str, Any], base: str) -> Record:
    return Record(
        run_id="r",
        suite="s",
        task="t",
        task_version=1,
        adapter="classification",
        variant_id=variant,
        model="m",
        n_params=1,
        knobs=knobs,
        quality={},
        perf={},
        started_at="t",
        wall_s=1.0,
        audit_base=base,
    )


def _rows(variant: str, answers: list[tuple[int, float, float]]) -> dict[str, SampleRow]:
    """(pred, gold, logprob of label a) per sample; label b's log-prob is fixed."""
    return {
        f"s{i}": SampleRow(
            variant_id=variant,
            task="t",
            sample_id=f"s{i}",
            output={"prediction": str(pred), "logprobs": {"a": lp, "b": -1.0}},
            scores={"pred": float(pred), "correct": float(pred == gold)},
        )
        for i, (pred, gold, lp) in enumerate(answers)
    }


def test_flips_and_drift_are_counted_and_tested_against_the_noise_floor() -> None:
    n = 30
    base = [(0, 0.0, -0.5)] * n
    records = [
        _record("m", {}, "m"),
        _record("m@repeat=2", {"repeat": 2}, "m"),
        _record("m@batch_size=8", {"batch_size": 8}, "m"),
        _record("m@dtype=bfloat16", {"dtype": "bfloat16"}, "m"),
    ]
    rows = {
        ("m", "t"): _rows("m", base),
        ("m@repeat=2", "t"): _rows("m@repeat=2", base),
        # float reassociation: every sample moves by 1e-6, no answer changes
        ("m@batch_size=8", "t"): _rows("m@batch_size=8", [(0, 0.0, -0.5 - 1e-6)] * n),
        # 12 of 30 answers flip to the wrong label
        ("m@dtype=bfloat16", "t"): _rows(
            "m@dtype=bfloat16", [(1, 0.0, -1.2)] * 12 + [(0, 0.0, -0.52)] * (n - 12)
        ),
    }
    audit = audit_task("t", "m", records, rows, InvarianceConfig(enabled=True))
    assert audit is not None and audit.noise == "m@repeat=2"
    floor, batch, dtype = audit.pairs
    assert floor.noise_floor and floor.flips == 0 and not floor.exceeds
    assert batch.flips == 0 and batch.drift_median == pytest.approx(1e-6)
    assert batch.p_drift is not None and batch.p_drift < 0.05 and not batch.exceeds
    assert "within the tolerance" in batch.reason
    assert dtype.flips == 12 and (dtype.correct_to_wrong, dtype.wrong_to_correct) == (12, 0)
    assert dtype.exceeds and dtype.p_flips is not None and dtype.p_flips < 1e-3
    assert dtype.drift_max == pytest.approx(0.7)
    assert audit.flip_matrix is not None and audit.flip_matrix[3] == (12, 12, 12, 0)


def test_without_a_repeat_the_audit_compares_with_exact_equality() -> None:
    records = [_record("m", {}, "m"), _record("m@batch_size=8", {"batch_size": 8}, "m")]
    rows = {
        ("m", "t"): _rows("m", [(0, 0.0, -0.5)] * 10),
        ("m@batch_size=8", "t"): _rows("m@batch_size=8", [(1, 0.0, -2.0)] * 10),
    }
    audit = audit_task("t", "m", records, rows, InvarianceConfig(enabled=True))
    assert audit is not None and audit.noise is None
    (pair,) = audit.pairs
    assert pair.exceeds and "compared with exact equality" in pair.reason


# 24 samples cannot power a quality comparison: those warn, so the verdict is the audit's
LENIENT = {"quality": {"underpowered": "warn"}}
STRICT = {**LENIENT, "invariance": "require"}


def _gate_itself(out: Path, rules: Path) -> list[str]:
    """The gate's arguments comparing a run with itself under `rules`."""
    return ["gate", "--baseline", str(out), "--candidate", str(out), "--rules", str(rules)]


def _sentiment_suite(tmp_path: Path, write_yaml: WriteYaml, tiny: Path, audit: bool) -> Path:
    words = ["good", "great", "fine", "bad", "awful", "poor"]
    lines = [f"__label__{'pos' if i % 2 else 'neg'} a {words[i % 6]} film {i}" for i in range(24)]
    (tmp_path / "reviews.txt").write_text("\n".join(lines) + "\n")
    write_yaml(
        tmp_path / "tasks" / "reviews.yaml",
        {
            "name": "reviews",
            "adapter": "classification",
            "source": {"format": "fasttext", "path": str(tmp_path / "reviews.txt")},
            "options": {"prompt": "{text}:", "labels": {"pos": " yes", "neg": " no"}},
        },
    )
    sweep = [{"batch_size": 1}, {"batch_size": 4}, {"batch_size": 1, "sparsity": 0.9}]
    return write_yaml(
        tmp_path / "suite.yaml",
        {
            "name": "audit",
            "models": [{"name": "tiny", "source": str(tiny), "variants": {"include": sweep}}],
            "tasks": [{"name": "reviews", "n": 24}],
            "task_dirs": ["tasks"],
            "invariance": {"enabled": audit},
            "timing": {"min_repeats": 1},
            "profilers": ["timing"],
        },
    )


def _sentiment_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_yaml: WriteYaml, tiny: Path, audit: bool
) -> Path:
    suite = _sentiment_suite(tmp_path, write_yaml, tiny, audit)
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    return out


@pytest.mark.e2e
def test_a_run_audits_the_tiny_model_and_the_gate_requires_invariance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path, write_yaml: WriteYaml
) -> None:
    out = _sentiment_run(tmp_path, monkeypatch, write_yaml, tiny_model_dir, audit=True)
    records = {r["variant_id"]: r for r in map(json.loads, (out / "records.jsonl").open())}
    assert "tiny@batch_size=1,repeat=2" in records
    assert {r["audit_base"] for r in records.values()} == {"tiny@batch_size=1"}
    assert run_cli(monkeypatch, "report", str(out), "--out", str(tmp_path / "r.md")) == 0
    text = (tmp_path / "r.md").read_text()
    assert "## Invariance audit" in text and "Flip matrix" in text
    assert (tmp_path / "r" / "reviews_tiny_batch_size_1_invariance.png").stat().st_size > 0
    import csv

    table = list(csv.DictReader((tmp_path / "r" / "invariance.csv").open()))
    assert [row["config"] for row in table] == [
        "tiny@batch_size=1,repeat=2", "tiny@batch_size=4", "tiny@batch_size=1,sparsity=0.9"
    ]  # fmt: skip
    assert table[0]["noise_floor"] == "True" and table[0]["flips"] == "0"
    args = _gate_itself(out, write_yaml(tmp_path / "rules.yaml", STRICT))
    verdict = tmp_path / "verdict.json"
    code = run_cli(monkeypatch, *args, "--json", str(verdict))
    found = {
        c["variant_id"]: c["status"]
        for c in json.loads(verdict.read_text())["comparisons"]
        if c["kind"] == "invariance"
    }
    # magnitude pruning to 90% moves a random model's log-likelihoods far beyond a repeat
    assert found["tiny@batch_size=1,sparsity=0.9"] == "fail" and code == 1
    assert found["tiny@batch_size=4"] == "pass"


@pytest.mark.e2e
def test_the_gate_fails_closed_when_an_audit_is_required_and_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path, write_yaml: WriteYaml
) -> None:
    out = _sentiment_run(tmp_path, monkeypatch, write_yaml, tiny_model_dir, audit=False)
    args = _gate_itself(out, write_yaml(tmp_path / "rules.yaml", STRICT))
    assert run_cli(monkeypatch, *args) == 1
    lenient = write_yaml(tmp_path / "lenient.yaml", LENIENT)
    assert run_cli(monkeypatch, *_gate_itself(out, lenient)) == 0


def test_a_misspelt_audit_key_names_the_close_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_yaml: WriteYaml, capsys: Any
) -> None:
    suite = write_yaml(
        tmp_path / "s.yaml",
        {
            "name": "s",
            "models": [{"name": "m", "source": "x", "backend": "mock"}],
            "tasks": ["wiki_ppl"],
            "invariance": {"enabld": True},
        },
    )
    assert run_cli(monkeypatch, "validate", str(suite)) == 2
    assert "enabled" in capsys.readouterr().err
