"""Is the candidate the same experiment as the baseline? Same suite, and per unit the same
model (source, engine, weight digest, parameter count), task version, adapter and knobs.

A difference fails closed with a message naming it: another model's outputs under the same
variant id are not a regression or an improvement of that variant, and two suites share no
question to answer.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.gate.model import Comparison
from harness.gate.runs import RunData
from harness.store.records import Record

Field = tuple[str, Callable[[Record], object], str]

# (what, how to read it off a record, how to say it differs)
UNIT_FIELDS: tuple[Field, ...] = (
    ("model entry", lambda r: r.model, "is a different model entry"),
    ("engine", lambda r: r.model_identity and r.model_identity.engine, "ran on another engine"),
    (
        "model source",
        lambda r: r.model_identity and r.model_identity.source,
        "is a different model",
    ),
    (
        "weight digest",
        lambda r: r.model_identity and r.model_identity.digest,
        "is a different model",
    ),
    ("parameters", lambda r: r.n_params, "is a different model"),
    ("knobs", lambda r: r.knobs, "has other knob values"),
    ("adapter", lambda r: r.adapter, "is scored by another adapter"),
    ("task version", lambda r: r.task_version, "is scored on another task version"),
)


def _short(value: object) -> str:
    text = str(value)
    return text[:16] + "…" if len(text) > 24 and " " not in text else text


def _suite(base: RunData, cand: RunData) -> list[Comparison]:
    a, b = base.manifest.suite, cand.manifest.suite
    if a == b:
        return []
    detail = (
        f"different suites: the baseline ran suite '{a}' and the candidate suite '{b}'; the "
        "gate compares two runs of one suite (fails closed)"
    )
    return [Comparison("identity", "*", "*", "suite", "fail", detail)]


def _unit(base: Record, cand: Record) -> list[Comparison]:
    out = []
    for what, read, says in UNIT_FIELDS:
        old, new = read(base), read(cand)
        if old is None or new is None or old == new:  # None: a record older than the field
            continue
        detail = (
            f"variant '{base.variant_id}' on task '{base.task}' {says} in the candidate: "
            f"{what} {_short(old)} (baseline) vs {_short(new)} (candidate); not the same "
            "experiment (fails closed)"
        )
        out.append(Comparison("identity", base.task, base.variant_id, what, "fail", detail))
    return out


def _task_files(base: RunData, cand: RunData) -> list[Comparison]:
    out = []
    for name, entry in sorted(base.manifest.tasks.items()):
        other = cand.manifest.tasks.get(name)
        if other is None or other.sha256 == entry.sha256 or other.version != entry.version:
            continue  # a version change is reported per unit
        detail = (
            f"task file of '{name}' changed without a version bump ({entry.path} vs "
            f"{other.path}); compared as the same task"
        )
        out.append(Comparison("identity", name, "*", "task file", "warn", detail))
    return out


def compare_identity(base: RunData, cand: RunData) -> list[Comparison]:
    out = _suite(base, cand) + _task_files(base, cand)
    for key, record in sorted(base.records.items()):
        other = cand.records.get(key)
        if other is not None:
            out += _unit(record, other)
    return out
