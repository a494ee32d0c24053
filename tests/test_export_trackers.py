"""Exports read back with the trackers' own clients: MLflow's MlflowClient, W&B's own reader
of offline runs (`wandb leet inspect`), and lm-eval's results JSON keys."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WriteYaml, run_cli


@pytest.fixture()
def mock_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corpus_file: Path, write_yaml: WriteYaml
) -> Path:
    task = write_yaml(
        tmp_path / "t" / "my_ppl.yaml",
        {
            "name": "my_ppl",
            "adapter": "perplexity",
            "source": {"format": "text", "path": str(corpus_file), "split": "line"},
            "options": {"max_length": 32},
        },
    )
    out = tmp_path / "run"
    args = ["--model", "x", "--backend", "mock", "--tasks", str(task)]
    args += ["--set", "mock_quality=0.5,0.9", "--out", str(out)]
    assert run_cli(monkeypatch, "run", *args, "--no-report") == 0
    return out


def _records(out: Path) -> dict[str, dict[str, Any]]:
    lines = (out / "records.jsonl").read_text().splitlines()
    return {r["variant_id"]: r for r in map(json.loads, lines)}


@pytest.mark.e2e
def test_mlflow_runs_read_back_with_mlflow_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mock_run: Path
) -> None:
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    store = tmp_path / "mlflow"
    report = tmp_path / "report.md"
    assert run_cli(monkeypatch, "report", str(mock_run), "--out", str(report)) == 0
    args = ["export", str(mock_run), "--mlflow", str(store), "--report", str(report)]
    assert run_cli(monkeypatch, *args) == 0
    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("adhoc")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 2
    records = _records(mock_run)
    for run in runs:
        record = records[run.data.tags["limitbench.variant_id"]]
        assert run.data.params["knob.mock_quality"] == str(record["knobs"]["mock_quality"])
        bpb = record["quality"]["bits_per_byte"]
        assert run.data.metrics["quality/bits_per_byte"] == pytest.approx(bpb["value"])
        assert run.data.metrics["quality/bits_per_byte_ci_low"] == pytest.approx(bpb["ci_low"])
        assert run.data.metrics["quality/bits_per_byte_ci_high"] == pytest.approx(bpb["ci_high"])
        speed = record["perf_specs"]["input_tokens_per_s"]
        assert run.data.tags["spec.perf/input_tokens_per_s"] == (
            f"kind=speed phase={speed['phase']} scope=window kernels=real"
        )
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"record.json", "report"} <= artifacts
        assert "report/report.md" in {
            a.path for a in client.list_artifacts(run.info.run_id, "report")
        }


@pytest.mark.e2e
def test_wandb_offline_runs_read_back_with_wandb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mock_run: Path
) -> None:
    pytest.importorskip("wandb")
    folder = tmp_path / "wb"
    assert run_cli(monkeypatch, "export", str(mock_run), "--wandb", str(folder)) == 0
    runs = sorted((folder / "wandb").glob("offline-run-*"))
    assert len(runs) == 2
    wandb_cli = shutil.which("wandb", path=str(Path(sys.executable).parent))
    assert wandb_cli is not None
    records = _records(mock_run)
    for run in runs:
        shown = subprocess.run(
            [wandb_cli, "leet", "inspect", "--summary", "--json", str(run)],
            capture_output=True,
            text=True,
            check=True,
        )
        summary = json.loads(shown.stdout)
        record = records[summary["config"]["limitbench.variant_id"]]
        bpb = record["quality"]["bits_per_byte"]
        assert summary["summary"]["quality/bits_per_byte"] == pytest.approx(bpb["value"])
        assert summary["summary"]["quality/bits_per_byte_ci_high"] == pytest.approx(bpb["ci_high"])
        assert summary["config"]["knob.mock_quality"] == str(record["knobs"]["mock_quality"])


@pytest.mark.e2e
def test_lm_eval_results_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mock_run: Path
) -> None:
    folder = tmp_path / "lm"
    assert run_cli(monkeypatch, "export", str(mock_run), "--lm-eval", str(folder)) == 0
    for variant_id, record in _records(mock_run).items():
        data = json.loads((folder / f"results_{variant_id}.json").read_text())
        result = data["results"]["my_ppl"]
        bpb = record["quality"]["bits_per_byte"]
        assert result["bits_per_byte,none"] == pytest.approx(bpb["value"])
        assert result["bits_per_byte_stderr,none"] == pytest.approx(bpb["stderr"])
        assert data["n-shot"]["my_ppl"] == 0
        assert data["n-samples"]["my_ppl"] == {"original": 5, "effective": 5}


@pytest.mark.e2e
def test_export_without_extra_names_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    mock_run: Path,
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    assert run_cli(monkeypatch, "export", str(mock_run), "--mlflow", str(tmp_path / "m")) == 2
    assert "pip install 'limitbench[mlflow]'" in capsys.readouterr().err
