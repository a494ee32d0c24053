"""Executor choice, Ray extra and resources validation, per-record hardware in the gate:
everything about the executors that needs no cluster (the cluster tests are in
tests/test_ray_cluster.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from harness.core.values import Value
from harness.executors.ray import ray_demand
from harness.gate import GateRules, compare_perf
from harness.gate.runs import RunData
from harness.store.records import Record
from harness.suite.schema import Resources
from tests.conftest import make_fingerprint, make_manifest, run_cli

MOCK = [{"name": "m0", "source": "x", "backend": "mock"}]


def test_unknown_executor_exits_2_with_close_match(
    monkeypatch: pytest.MonkeyPatch, ppl_suite: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = ppl_suite(MOCK)
    assert run_cli(monkeypatch, "run", str(suite), "--executor", "rya") == 2
    err = capsys.readouterr().err
    assert "'--executor'" in err and "did you mean 'ray'" in err


def test_ray_executor_without_ray_names_the_extra(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ppl_suite: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    suite = ppl_suite(MOCK)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--executor", "ray", "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert "pip install 'limitbench[ray]'" in err and "Traceback" not in err
    assert err.count("limitbench: error") == 1
    assert not out.exists()


def test_ray_only_options_need_the_ray_executor(
    monkeypatch: pytest.MonkeyPatch, ppl_suite: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = ppl_suite(MOCK)
    assert run_cli(monkeypatch, "run", str(suite), "--address", "127.0.0.1:1") == 2
    assert "need '--executor ray'" in capsys.readouterr().err
    assert run_cli(monkeypatch, "run", str(suite), "--executor", "ray", "--max-retries", "-1") == 2
    assert "'--max-retries'" in capsys.readouterr().err


def test_unreachable_ray_head_exits_2_at_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ppl_suite: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("ray")
    suite, out = ppl_suite(MOCK), tmp_path / "run"
    args = ["run", str(suite), "--executor", "ray", "--address", "127.0.0.1:9", "--out", str(out)]
    assert run_cli(monkeypatch, *args) == 2
    assert "no Ray head answers at 127.0.0.1:9" in capsys.readouterr().err
    assert not out.exists()


def test_resources_are_validated_with_close_match(
    monkeypatch: pytest.MonkeyPatch, ppl_suite: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = ppl_suite([{**MOCK[0], "resources": {"num_gpu": 1}}])
    assert run_cli(monkeypatch, "run", str(suite)) == 2
    err = capsys.readouterr().err
    assert "models.0.resources.num_gpu" in err and "did you mean 'num_gpus'" in err
    suite = ppl_suite([{**MOCK[0], "resources": {"num_cpus": -1}}])
    assert run_cli(monkeypatch, "run", str(suite)) == 2
    assert "models.0.resources.num_cpus" in capsys.readouterr().err


def test_ray_demand_uses_rays_names_and_bytes() -> None:
    assert ray_demand(Resources()) == {"CPU": 1}
    assert ray_demand(Resources(num_cpus=2, num_gpus=1, memory_gb=1.5)) == {
        "CPU": 2,
        "GPU": 1,
        "memory": 1.5 * 2**30,
    }


def test_local_records_carry_the_measuring_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ppl_suite: Any
) -> None:
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(ppl_suite(MOCK)), "--out", str(out), "--no-report") == 0
    (record,) = [Record.model_validate_json(line) for line in (out / "records.jsonl").open()]
    assert record.env is not None and record.env.cpu
    assert record.env.logical_cores is not None and record.env.logical_cores >= 1


def _record(env: dict[str, Any] | None) -> Record:
    fingerprint = make_fingerprint(**env) if env is not None else None
    speed = Value(value=100.0, unit="tok/s", higher_is_better=True, repeats=[100.0] * 3)
    return Record(
        run_id="r",
        suite="s",
        task="t",
        task_version=1,
        adapter="perplexity",
        variant_id="v",
        model="m",
        n_params=1,
        knobs={},
        quality={},
        perf={"input_tokens_per_s": speed},
        started_at="2026-01-01T00:00:00",
        wall_s=1.0,
        env=fingerprint,
    )


def _run(record: Record, manifest_cpu: str) -> RunData:
    env = make_fingerprint(cpu=manifest_cpu, logical_cores=2, gpu="none")
    return RunData(Path("x"), make_manifest(env), {record.unit_key: record}, {})


def test_gate_compares_speed_by_each_records_hardware() -> None:
    node_a = {"cpu": "A", "logical_cores": 2, "gpu": "none", "torch_threads": 1}
    node_b = {**node_a, "cpu": "B"}
    rules = GateRules()
    # Same manifests, but the candidate's unit ran on another node: not comparable.
    (found,) = compare_perf(_run(_record(node_a), "A"), _run(_record(node_b), "A"), rules)
    assert found.status == "skipped" and "hardware differs" in found.detail
    # Different drivers' manifests, same measuring node: compared.
    (found,) = compare_perf(_run(_record(node_a), "X"), _run(_record(node_a), "Y"), rules)
    assert found.status == "pass"
    # Records written before they carried a fingerprint fall back to the manifest.
    old = Record.model_validate({k: v for k, v in _record(None).model_dump().items() if k != "env"})
    assert old.env is None
    (found,) = compare_perf(_run(old, "A"), _run(old, "B"), rules)
    assert found.status == "skipped"
