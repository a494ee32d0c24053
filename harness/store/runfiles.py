"""The typed content of a run folder's manifest.json and samples.jsonl.

Every model here is frozen and documented field by field; `limitbench schema` writes their
JSON Schemas (committed under `harness/schemas/`), so tools outside Python can read a run too.
Records (records.jsonl) are in `harness.store.records`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from harness.hardware.fingerprint import Fingerprint

# 2: `limit` and per-task `data_sha256` (what a resume must match); 1: neither. Both load.
MANIFEST_SCHEMA_VERSION = 2
# Committed copies of the schemas (harness/schemas/), shipped in the package for other tools.
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TaskEntry(_Frozen):
    """A task as the run used it: enough to tell whether two runs scored the same data."""

    version: int = Field(description="the task file's `version`")
    path: str = Field(description="the task file that was used")
    sha256: str = Field(description="sha256 of that task file")
    n: int = Field(description="samples evaluated (after --limit and seeded sampling)")
    n_available: int = Field(description="rows the source held before sampling")
    data_sha256: str | None = Field(
        default=None,
        description="sha256 of the evaluated samples' ids (content hashes, in order): "
        "resume refuses other data, seed or sampling; None in runs written before it",
    )
    n_duplicates: int = Field(
        default=0, description="rows of the source that repeat an earlier row exactly"
    )
    duplicates: str = Field(
        default="keep", description="what was done with them: keep (scored) or drop"
    )


class Manifest(_Frozen):
    """manifest.json: what was run, from which files, by which command, on which machine."""

    schema_version: int = Field(
        default=MANIFEST_SCHEMA_VERSION, description="version of this layout"
    )
    run_id: str = Field(description="the run folder's name: UTC start time plus a random tag")
    suite: str = Field(description="the suite's `name`")
    suite_path: str = Field(description="the suite file the run was started from")
    suite_sha256: str = Field(description="sha256 of the suite file (resume refuses a change)")
    suite_config: dict[str, JsonValue] = Field(
        description="the suite after validation and defaults, as JSON"
    )
    tasks: dict[str, TaskEntry] = Field(description="the tasks by name")
    created_at: str = Field(description="ISO 8601 UTC time the run folder was created")
    command: str = Field(description="the command line that started the run")
    limit: int | None = Field(
        default=None, description="--limit the run started with (resume refuses another)"
    )
    env: Fingerprint = Field(description="the driver's environment fingerprint")


class ModelIdentity(_Frozen):
    """What was measured, as the gate checks it: the same variant id over another model's
    weights is another experiment, not a regression or an improvement."""

    source: str = Field(description="the model entry's `source` as the suite gave it")
    engine: str = Field(description="the backend that ran it (hf, llamacpp, openai, ...)")
    digest: str | None = Field(
        description="sha256 of the weight file(s) that were loaded; None when not readable"
    )
    digest_note: str = Field(description="what was hashed, or why nothing could be")


class SampleRow(_Frozen):
    """One line of samples.jsonl: one sample of one (variant, task) unit."""

    variant_id: str = Field(description="the variant that answered (joins records.jsonl)")
    task: str = Field(description="the task the sample belongs to")
    sample_id: str = Field(description="content hash of the sample's fields, stable across runs")
    label: str | None = Field(default=None, description="the gold label, where the task has one")
    prompt: str | None = Field(
        default=None,
        description="the text the model was given, as rendered: few-shot examples included "
        "(before a chat template, where the task sets chat: true); for perplexity the scored "
        "text. Absent in runs written before it was recorded",
    )
    continuations: list[str] | None = Field(
        default=None,
        description="log-likelihood tasks: the continuations scored after the prompt, one per "
        "label or choice, in the order of the output's log-probabilities",
    )
    gold: JsonValue = Field(
        default=None,
        description="the gold answer as the task defines it (a label, the correct choice's "
        "text, the reference or the accepted answers); null where the task has none",
    )
    output: dict[str, JsonValue] = Field(
        default_factory=dict, description="what the model produced, as the adapter shows it"
    )
    scores: dict[str, float] = Field(
        default_factory=dict, description="per-sample scores the metrics reduce over"
    )

    @property
    def unit_key(self) -> tuple[str, str]:
        return (self.variant_id, self.task)


def schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas of the three run files, keyed by the file they describe."""
    from harness.store.records import Record

    return {
        "records.jsonl": Record.model_json_schema(),
        "samples.jsonl": SampleRow.model_json_schema(),
        "manifest.json": Manifest.model_json_schema(),
    }


def schema_file_name(run_file: str) -> str:
    """records.jsonl -> records.schema.json"""
    return run_file.split(".")[0] + ".schema.json"


def write_schemas(folder: Path | None = None) -> list[Path]:
    """Write each run file's JSON Schema (default: the package's committed copies)."""
    target = folder or SCHEMA_DIR
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for run_file, schema in schemas().items():
        path = target / schema_file_name(run_file)
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
