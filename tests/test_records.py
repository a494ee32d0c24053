"""The run store: append, torn-line repair, exactly-once resume."""

from __future__ import annotations

import json
from pathlib import Path

from harness.core.values import Value
from harness.hardware.fingerprint import fingerprint
from harness.store.records import SCHEMA_VERSION, Record, RunStore
from harness.store.runfiles import SampleRow
from tests.conftest import make_manifest


def _record(variant: str, task: str) -> Record:
    return Record(
        run_id="r",
        suite="s",
        task=task,
        task_version=1,
        adapter="perplexity",
        variant_id=variant,
        model="m",
        n_params=1,
        knobs={},
        quality={
            "x": Value(
                value=1.0,
                unit="ppl",
                stderr=0.1,
                ci_low=0.8,
                ci_high=1.2,
                n=3,
                higher_is_better=False,
            )
        },
        perf={},
        started_at="now",
        wall_s=1.0,
    )


def test_repair_drops_torn_lines_and_orphan_samples(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create(make_manifest(fingerprint()))
    store.append_unit(_record("v", "a"), [SampleRow(variant_id="v", task="a", sample_id="1")])
    # a unit killed after writing samples but before its record, then a torn record line
    with store.samples_path.open("a") as f:
        f.write(json.dumps({"variant_id": "v", "task": "b", "sample_id": "2"}) + "\n")
    with store.records_path.open("a") as f:
        f.write('{"schema_version": 1, "run_id": "r", "su')
    assert store.repair() == {("v", "a")}
    assert [r.task for r in store.records()] == ["a"]
    assert [s.task for s in store.samples()] == ["a"]
    assert store.manifest() == make_manifest(fingerprint()).model_copy(
        update={"env": store.manifest().env}
    )
    assert store.records_path.read_text().endswith("\n")


def test_record_round_trips_with_schema_version(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create(make_manifest(fingerprint()))
    store.append_unit(_record("v", "a"), [])
    line = json.loads(store.records_path.read_text())
    assert line["schema_version"] == SCHEMA_VERSION == 3
    assert line["quality"]["x"] == {
        "value": 1.0,
        "unit": "ppl",
        "higher_is_better": False,
        "stderr": 0.1,
        "ci_low": 0.8,
        "ci_high": 1.2,
        "n": 3,
        "note": None,
        "repeats": None,
    }
    assert store.records()[0] == _record("v", "a")
