"""The example report in the repository is the code's: `reports/example/default.md` is what
`limitbench report` renders today from the default-suite run committed beside it
(`reports/example/runs/<run-id>/`: manifest, records, per-sample scores), and that run is of
the current record and manifest schema. A change to the report's sections or wording, or to
the record schema, fails here until the example is regenerated (see the message)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.store.records import SCHEMA_VERSION
from harness.store.runfiles import MANIFEST_SCHEMA_VERSION
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "reports" / "example"
REGENERATE = (
    "regenerate it: `limitbench run suites/default.yaml --out /tmp/d`, copy its manifest.json, "
    "records.jsonl and samples.jsonl (and slo_search.json if any) into "
    "reports/example/runs/<run-id>/ in place of the old run, then `limitbench report "
    "reports/example/runs/<run-id> --out reports/example/default.md` (see docs/contributing.md)"
)


def _run() -> Path:
    (run,) = sorted((EXAMPLE / "runs").iterdir())
    return run


def _comparable(text: str) -> str:
    """The report without the line naming the command that made it (paths differ)."""
    return re.sub(r"^- report made by `.*`$", "- report made by …", text, flags=re.M)


def test_the_example_run_is_of_the_current_schemas() -> None:
    run = _run()
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["schema_version"] == MANIFEST_SCHEMA_VERSION, REGENERATE
    assert manifest["suite"] == "default" and manifest["run_id"] == run.name
    versions = {
        json.loads(line)["schema_version"]
        for line in (run / "records.jsonl").read_text(encoding="utf-8").splitlines()
    }
    assert versions == {SCHEMA_VERSION}, REGENERATE


@pytest.mark.e2e
def test_the_example_report_is_what_the_code_renders_from_its_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "default.md"
    assert run_cli(monkeypatch, "report", str(_run()), "--out", str(target)) == 0
    committed = (EXAMPLE / "default.md").read_text(encoding="utf-8")
    assert _comparable(target.read_text(encoding="utf-8")) == _comparable(committed), REGENERATE
    drawn = sorted(p.name for p in (tmp_path / "default").iterdir())
    kept = sorted(p.name for p in (EXAMPLE / "default").iterdir())
    assert drawn == kept, REGENERATE
