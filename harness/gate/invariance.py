"""The gate's invariance rule: with `invariance: require`, the candidate run must hold an
invariance audit and no audited configuration may exceed its noise floor (fail closed: a run
without an audit fails); `warn` reports the same without failing."""

from __future__ import annotations

from harness.gate.model import Comparison, Status
from harness.gate.rules import GateRules
from harness.gate.runs import RunData
from harness.report.analysis.audit_runs import audits_of

METRIC = "invariance"


def check_invariance(cand: RunData, rules: GateRules) -> list[Comparison]:
    if rules.invariance == "ignore":
        return []
    records = list(cand.records.values())
    audits = audits_of([cand.manifest], records, [cand.path])
    if not audits:
        detail = (
            "the rules require an invariance audit and the candidate holds none (suite key "
            "`invariance: {enabled: true}` with at least two configurations of a model)"
        )
        return [Comparison("invariance", "—", "—", METRIC, "fail", detail)]
    exceeding: Status = "fail" if rules.invariance == "require" else "warn"
    out = []
    for audit in audits:
        for pair in audit.pairs:
            if pair.noise_floor:
                continue
            detail = f"against `{audit.base}`: {pair.reason}"
            status: Status = exceeding if pair.exceeds else "pass"
            out.append(Comparison("invariance", audit.task, pair.config, METRIC, status, detail))
    return out
