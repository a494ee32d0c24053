"""The published JSON Schemas: current with the models, satisfied by real runs, and runs
written by schema_version 1 still load for report and gate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.store.records import RunStore
from harness.store.runfiles import SCHEMA_DIR, schema_file_name, schemas
from tests.conftest import run_cli

V1_RUN = Path(__file__).parent / "fixtures" / "run_v1"


def test_committed_schemas_match_the_models() -> None:
    for run_file, schema in schemas().items():
        committed = json.loads((SCHEMA_DIR / schema_file_name(run_file)).read_text())
        assert committed == schema, f"regenerate with `limitbench schema` ({run_file})"


def validate_run(run: Path) -> int:
    """Validate every line of a run folder against the committed schemas; lines checked."""
    import jsonschema

    checked = 0
    for run_file in ("records.jsonl", "samples.jsonl", "manifest.json"):
        schema = json.loads((SCHEMA_DIR / schema_file_name(run_file)).read_text())
        text = (run / run_file).read_text(encoding="utf-8")
        rows: list[Any] = (
            [json.loads(line) for line in text.splitlines()]
            if run_file.endswith(".jsonl")
            else [json.loads(text)]
        )
        assert rows, run_file
        for row in rows:
            jsonschema.validate(row, schema)
            checked += 1
    return checked


@pytest.mark.e2e
def test_a_run_satisfies_the_schemas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ppl_suite: Any
) -> None:
    suite = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}], {"mock_quality": [1.0]})
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    assert validate_run(out) == 1 + 5 + 1  # one record, five samples, the manifest


def test_schema_rejects_a_malformed_sample_row() -> None:
    import jsonschema

    schema = json.loads((SCHEMA_DIR / "samples.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"variant_id": "v", "task": "t", "scores": {"x": "high"}}, schema)


@pytest.mark.e2e
def test_schema_version_1_run_loads_for_report_and_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run_v1"
    shutil.copytree(V1_RUN, run)
    store = RunStore(run)
    manifest = store.manifest()
    assert manifest.schema_version == 1 and manifest.env.torch_threads is None
    assert [r.schema_version for r in store.records()] == [1, 1]
    assert {s.unit_key for s in store.samples()} == {r.unit_key for r in store.records()}
    assert validate_run(run) == 2 + 6 + 1
    report = tmp_path / "r.md"
    assert run_cli(monkeypatch, "report", str(run), "--out", str(report)) == 0
    assert "token_perplexity" in report.read_text()
    verdict = tmp_path / "v.json"
    code = run_cli(
        monkeypatch, "gate", "--baseline", str(run), "--candidate", str(run), "--json", str(verdict)
    )
    assert code == 0, verdict.read_text()


def test_unreadable_manifest_is_a_clear_error(tmp_path: Path) -> None:
    from harness.core.errors import UserError

    (tmp_path / "manifest.json").write_text('{"run_id": 3}')
    with pytest.raises(UserError, match=r"manifest\.json: not a readable run manifest"):
        RunStore(tmp_path).manifest()
