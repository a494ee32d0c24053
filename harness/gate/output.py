"""The gate's verdict as a pull-request comment (markdown) and as JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.gate.model import Comparison
from harness.report.sections.format import fmt_number, table

FAILING = ("fail", "missing", "inconclusive")


@dataclass(frozen=True)
class Verdict:
    passed: bool
    comparisons: list[Comparison]
    baseline: str
    candidate: str

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(c.status for c in self.comparisons))


def decide(comparisons: Sequence[Comparison], baseline: str, candidate: str) -> Verdict:
    passed = not any(c.status in FAILING for c in comparisons)
    return Verdict(passed, list(comparisons), baseline, candidate)


def _row(c: Comparison) -> list[str]:
    r, tol = c.result, c.tolerance
    tol_text = "—" if tol is None else f"{tol.max_drop:g}{' rel' if tol.relative else ''}"
    metric = f"{c.metric} ({c.role})" if c.kind == "quality" else c.metric
    head = [c.status.upper(), c.kind, c.task, c.variant_id, metric]
    if r is None:
        return [*head, "—", "—", "—", tol_text, "—", "—", c.detail]
    drop = f"{fmt_number(r.drop)} [{fmt_number(r.drop_ci[0])}, {fmt_number(r.drop_ci[1])}]"
    return [
        *head,
        fmt_number(r.baseline),
        fmt_number(r.candidate),
        drop,
        tol_text,
        f"{r.p_value:.3g}",
        fmt_number(r.mde),
        f"{r.method}; {c.detail}",
    ]


HEADERS = [
    "status",
    "kind",
    "task",
    "variant",
    "metric",
    "baseline",
    "candidate",
    "drop [CI]",
    "tolerance",
    "p",
    "MDE",
    "how",
]


def to_markdown(verdict: Verdict) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in sorted(verdict.counts.items()))
    head = (
        f"## limitbench gate: {'PASS' if verdict.passed else 'FAIL'}\n\n"
        f"baseline `{verdict.baseline}` vs candidate `{verdict.candidate}` — {counts}.\n\n"
        "Quality: paired tests on per-sample scores (exact McNemar for correct/incorrect at "
        "zero tolerance, paired bootstrap otherwise), one-sided, Holm-controlled within "
        "each task's primary metrics on each variant (the family each comparison was "
        "judged in is in its row; rules `family: task` or `run` widen it; the others are "
        "secondary: reported, not gating). A drop fails when it exceeds its tolerance with "
        "the stated confidence. MDE: the drop this sample size detects with 80% power; a "
        "primary comparison whose MDE exceeds the drop it must detect and that is not "
        "significant is INCONCLUSIVE and fails unless a rule sets `underpowered: warn` "
        "(a significant drop fails either way). Identity: a unit whose model (source, "
        "engine, weight digest, parameters), knobs, adapter or task version differs, or "
        "another suite, fails closed."
    )
    bad = [c for c in verdict.comparisons if c.status in FAILING]
    rest = [c for c in verdict.comparisons if c.status not in FAILING]
    parts = [head]
    if bad:
        parts.append(
            "### Regressions, gaps and inconclusive comparisons\n\n"
            + table(HEADERS, [_row(c) for c in bad])
        )
    if rest:
        parts.append(
            "<details><summary>All other comparisons</summary>\n\n"
            + table(HEADERS, [_row(c) for c in rest])
            + "\n\n</details>"
        )
    return "\n\n".join(parts) + "\n"


def to_json(verdict: Verdict) -> str:
    def item(c: Comparison) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": c.kind,
            "task": c.task,
            "variant_id": c.variant_id,
            "metric": c.metric,
            "status": c.status,
            "role": c.role if c.kind == "quality" else None,
            "detail": c.detail,
            **c.extra,
        }
        if c.result is not None:
            out.update(
                method=c.result.method,
                baseline=c.result.baseline,
                candidate=c.result.candidate,
                drop=c.result.drop,
                drop_ci=list(c.result.drop_ci),
                p_value=c.result.p_value,
                mde=c.result.mde,
            )
        if c.tolerance is not None:
            out["tolerance"] = c.tolerance.model_dump()
        return out

    return json.dumps(
        {
            "verdict": "pass" if verdict.passed else "fail",
            "baseline": verdict.baseline,
            "candidate": verdict.candidate,
            "counts": verdict.counts,
            "comparisons": [item(c) for c in verdict.comparisons],
        },
        indent=2,
    )
