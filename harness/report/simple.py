"""The run report: quality tables per task, a performance table and the environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.records import Record, RunStore
from harness.report.markdown import perf_table, task_tables


def load_run(run_dir: Path) -> tuple[dict[str, Any], list[Record]]:
    store = RunStore(run_dir)
    if not store.exists():
        raise UserError(f"{run_dir}: not a run folder (no manifest.json)")
    records = store.records()
    if not records:
        raise UserError(f"{run_dir}: holds no finished records yet")
    return store.manifest(), records


def render(manifest: dict[str, Any], records: list[Record]) -> str:
    env = manifest.get("env", {})
    header = (
        f"# limitbench report: {manifest['suite']} / {manifest['run_id']}\n\n"
        f"{len(records)} records · created {manifest.get('created_at', '?')}\n"
    )
    footer = (
        "## Reproducibility\n\n"
        f"- suite sha256: `{manifest.get('suite_sha256')}`\n"
        f"- command: `{manifest.get('command')}`\n"
        f"- environment: `{json.dumps(env, sort_keys=True)}`\n"
    )
    return "\n\n".join(
        [
            header,
            "## Quality by task",
            task_tables(records),
            "## Performance",
            perf_table(records),
            footer,
        ]
    )


def write_report(run_dir: Path, out: Path | None) -> Path:
    manifest, records = load_run(run_dir)
    target = out or Path("reports") / manifest["suite"] / f"{manifest['run_id']}.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(manifest, records), encoding="utf-8")
    return target
