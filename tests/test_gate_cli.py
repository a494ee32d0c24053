"""The gate command end to end on synthetic run folders written through the run store: a run
passes against itself, a real drop fails naming its task and metric with the exact drop and
p-value, noise passes, a missing unit fails closed, speed across hardware is skipped, bad
input exits 2, and a saved baseline exports as pytest-benchmark JSON. The same checks on real
SmolLM2 runs are in test_gate.py (slow)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.adapters.choice import ClassificationAdapter
from harness.core.values import Value
from harness.metrics.choice import choice_scores
from harness.store.records import Record, RunStore
from harness.store.runfiles import SampleRow
from tests.conftest import make_fingerprint, make_manifest, make_specs, run_cli

TASKS = ("sentiment", "topic")
VARIANT = "m"
N = 400  # at 80% accuracy, McNemar can see the default 10% drop: no test is underpowered
SPEED = (100.0, 103.0, 98.0)


def _correct(n_wrong: int, flipped: int = 0) -> list[float]:
    """N answers, `n_wrong` of them wrong, then the first `flipped` right ones made wrong."""
    answers = [0.0] * n_wrong + [1.0] * (N - n_wrong)
    for i in range(n_wrong, n_wrong + flipped):
        answers[i] = 0.0
    return answers


def _unit(task: str, correct: Sequence[float], cpu: str) -> tuple[Record, list[SampleRow]]:
    rows = [
        SampleRow(
            variant_id=VARIANT,
            task=task,
            sample_id=f"{task}-{i}",
            label="0",
            scores=choice_scores([-0.1, -3.0] if right else [-3.0, -0.1], [3, 3], 0, [4, 4]),
        )
        for i, right in enumerate(correct)
    ]
    accuracy = Value(value=statistics.fmean(correct), unit="fraction", higher_is_better=True)
    speed = Value(
        value=statistics.median(SPEED), unit="tok/s", higher_is_better=True, repeats=list(SPEED)
    )
    wall = [4000 / s for s in SPEED]
    record = Record(
        run_id="r",
        suite="snap",
        task=task,
        task_version=1,
        adapter="classification",
        variant_id=VARIANT,
        model="m",
        n_params=1,
        knobs={},
        quality={"accuracy": accuracy},
        perf={
            "input_tokens_per_s": speed,
            "wall_time": Value(value=statistics.median(wall), unit="s", repeats=wall),
        },
        metrics=make_specs("classification", ClassificationAdapter.metrics, ["accuracy"]),
        started_at="t",
        wall_s=1.0,
        env=make_fingerprint(cpu=cpu),
    )
    return record, rows


def _write_run(
    folder: Path, flipped: int = 0, tasks: Sequence[str] = TASKS, cpu: str = "cpu-a"
) -> Path:
    store = RunStore(folder)
    store.create(make_manifest(make_fingerprint(cpu=cpu)))
    for task in tasks:
        store.append_unit(*_unit(task, _correct(80, flipped if task == TASKS[0] else 0), cpu))
    return folder


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_run(tmp_path_factory.mktemp("gate") / "base")


def _gate(
    monkeypatch: pytest.MonkeyPatch, base: Path | str, cand: Path, tmp_path: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "verdict.json"
    args = ["gate", "--baseline", str(base), "--candidate", str(cand), "--json", str(out)]
    code = run_cli(monkeypatch, *args, *extra)
    return code, json.loads(out.read_text()) if out.exists() else {}


def _one(verdict: dict[str, Any], task: str, metric: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        c for c in verdict["comparisons"] if (c["task"], c["metric"]) == (task, metric)
    ]
    assert len(found) == 1
    return found[0]


def test_run_against_itself_passes(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, verdict = _gate(monkeypatch, base, base, tmp_path)
    assert code == 0 and verdict["verdict"] == "pass"
    for task in TASKS:
        accuracy = _one(verdict, task, "accuracy")
        assert accuracy["method"] == "exact McNemar" and accuracy["role"] == "primary"
        assert accuracy["drop"] == 0.0 and accuracy["p_value"] == 1.0
        speed = _one(verdict, task, "input_tokens_per_s")
        assert speed["kind"] == "perf" and speed["status"] == "pass"


def test_drop_beyond_tolerance_fails_naming_task_and_metric(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cand = _write_run(tmp_path / "cand", flipped=40)  # accuracy 0.8 -> 0.7 on one task
    summary = tmp_path / "gate.md"
    code, verdict = _gate(monkeypatch, base, cand, tmp_path, "--markdown", str(summary))
    assert code == 1 and verdict["verdict"] == "fail"
    failed = [(c["task"], c["metric"]) for c in verdict["comparisons"] if c["status"] == "fail"]
    assert failed == [(TASKS[0], "accuracy")]
    accuracy = _one(verdict, TASKS[0], "accuracy")
    assert (accuracy["baseline"], accuracy["candidate"]) == (0.8, 0.7)
    assert accuracy["drop"] == pytest.approx(0.1, abs=1e-12)
    assert accuracy["p_value"] == pytest.approx(0.5**40, rel=1e-9)  # 40 lost, none gained
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## limitbench gate: FAIL")
    regressions = text.split("### Regressions", 1)[1].split("<details>", 1)[0]
    rows = [line for line in regressions.splitlines() if line.startswith("| FAIL")]
    assert len(rows) == 1 and f"| {TASKS[0]} | {VARIANT} | accuracy (primary) |" in rows[0]


def test_noise_within_the_test_passes(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cand = _write_run(tmp_path / "cand", flipped=2)
    code, verdict = _gate(monkeypatch, base, cand, tmp_path)
    assert code == 0, verdict
    accuracy = _one(verdict, TASKS[0], "accuracy")
    assert accuracy["drop"] == pytest.approx(2 / N, abs=1e-12)
    assert accuracy["p_value"] == pytest.approx(0.25) and accuracy["mde"] > 2 / N


def test_missing_unit_fails_closed(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cand = _write_run(tmp_path / "cand", tasks=TASKS[1:])
    code, verdict = _gate(monkeypatch, base, cand, tmp_path)
    assert code == 1
    assert {c["task"] for c in verdict["comparisons"] if c["status"] == "missing"} == {TASKS[0]}


@pytest.mark.e2e
def test_speed_across_hardware_is_skipped(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cand = _write_run(tmp_path / "cand", cpu="cpu-b")
    code, verdict = _gate(monkeypatch, base, cand, tmp_path)
    perf = [c for c in verdict["comparisons"] if c["kind"] == "perf"]
    assert code == 0 and len(perf) == len(TASKS)
    assert all(c["status"] == "skipped" and "hardware differs" in c["detail"] for c in perf)


def test_bad_inputs_exit_2(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _gate(monkeypatch, tmp_path / "nope", base, tmp_path)
    assert code == 2 and "neither a run folder nor a baseline" in capsys.readouterr().err
    rules = tmp_path / "rules.yaml"
    rules.write_text("confidnce: 0.9\n")
    code, _ = _gate(monkeypatch, base, base, tmp_path, "--rules", str(rules))
    assert code == 2 and "did you mean 'confidence'" in capsys.readouterr().err


def test_saved_baseline_gates_and_exports_pytest_benchmark_json(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # baselines live under ./results/baselines/
    assert run_cli(monkeypatch, "baseline", "save", str(base), "main") == 0
    assert (tmp_path / "results" / "baselines" / "main" / "samples.jsonl").exists()
    code, verdict = _gate(monkeypatch, "main", base, tmp_path)
    assert code == 0 and verdict["verdict"] == "pass"
    out = tmp_path / "bench.json"
    assert run_cli(monkeypatch, "export-benchmark", "main", "--out", str(out)) == 0
    data = json.loads(out.read_text())
    assert {b["group"] for b in data["benchmarks"]} == set(TASKS)
    assert data["machine_info"]["cpu"]["brand_raw"] == "cpu-a"
    wall = sorted(4000 / s for s in SPEED)
    for bench in data["benchmarks"]:
        assert bench["name"] == f"{bench['group']}[{VARIANT}]"
        stats = bench["stats"]
        assert stats["rounds"] == 3 and stats["data"] == wall
        assert (stats["min"], stats["max"]) == (wall[0], wall[-1])
        assert stats["median"] == statistics.median(wall)
        assert stats["mean"] == pytest.approx(statistics.fmean(wall), rel=1e-12)
        assert bench["extra_info"]["input_tokens_per_s"] == statistics.median(SPEED)
