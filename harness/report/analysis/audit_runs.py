"""An invariance audit of run folders: the audit's settings from the runs' manifests, the
stored rows of every audited unit (answers and log-likelihoods live there), and the audits."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.report.analysis.audit import TaskAudit, audit_run
from harness.report.analysis.audit_signals import Rows
from harness.store.records import Record, RunStore
from harness.store.runfiles import Manifest, SampleRow
from harness.suite.schema import InvarianceConfig


def audit_config(manifests: Sequence[Manifest]) -> InvarianceConfig | None:
    """The first run's audit settings, or None when no run asked for an audit."""
    for manifest in manifests:
        given = manifest.suite_config.get("invariance")
        if isinstance(given, dict):
            config = InvarianceConfig.model_validate(given)  # written validated by the run
            if config.enabled:
                return config
    return None


def audited_rows(dirs: Sequence[Path], records: Sequence[Record]) -> dict[tuple[str, str], Rows]:
    """The stored rows of every audited unit (answers and log-likelihoods live there)."""
    wanted = {r.unit_key for r in records if r.audit_base is not None}
    out: dict[tuple[str, str], dict[str, SampleRow]] = {}
    for folder in dirs:
        for row in RunStore(folder).samples():
            if row.unit_key in wanted:
                out.setdefault(row.unit_key, {})[row.sample_id] = row
    return dict(out)


def audits_of(
    manifests: Sequence[Manifest], records: Sequence[Record], dirs: Sequence[Path]
) -> list[TaskAudit]:
    config = audit_config(manifests)
    if config is None or not any(r.audit_base for r in records):
        return []
    return audit_run(records, audited_rows(dirs, records), config)
