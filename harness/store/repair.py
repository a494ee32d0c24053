"""Repair of a run folder before a resume: nothing finished is deleted.

A unit is finished when its record line is complete. Repair keeps every complete, valid
record line and the sample rows of finished units. A damaged line anywhere (not JSON, not a
valid row, a second record of a unit already recorded) is moved to `<file>.damaged` with its
line number and reported; the lines after it are kept. Only a final line without its newline
(a write cut short by a kill) is dropped, as are the sample rows of units with no record (the
unit runs again). Readers (`RunStore.records()`) have their own, stricter parsing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from harness.core.lines import newline_lines
from harness.store.records import Record, RunStore
from harness.store.runfiles import SampleRow

DAMAGED_SUFFIX = ".damaged"


@dataclass
class Repair:
    """What a repair found: the finished units and one line per thing it set aside."""

    done: set[tuple[str, str]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    row: dict[str, Any] | None  # None: damaged
    why: str = ""


def _parse(path: Path, model: type[BaseModel]) -> tuple[list[_Line], bool]:
    """Every line with its parse; and whether a final line had no newline (dropped)."""
    if not path.exists():
        return [], False
    raw = path.read_bytes().decode("utf-8", errors="replace")
    pieces = newline_lines(raw)
    torn = bool(pieces) and not pieces[-1].endswith("\n")
    lines = []
    for number, text in enumerate(pieces[:-1] if torn else pieces, start=1):
        if not text.strip():
            continue
        lines.append(_checked(number, text, model))
    return lines, torn


def _checked(number: int, text: str, model: type[BaseModel]) -> _Line:
    try:
        row = json.loads(text)
    except json.JSONDecodeError as err:
        return _Line(number, text, None, f"not JSON ({err.msg})")
    try:
        model.model_validate(row)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(row)"
        return _Line(number, text, None, f"not a valid row ({where}: {first['msg']})")
    return _Line(number, text, row)


def repair_run(store: RunStore) -> Repair:
    """Set damaged lines aside, keep every finished unit, drop unfinished units' samples."""
    out = Repair()
    records, torn = _parse(store.records_path, Record)
    kept_records = []
    for line in records:
        unit = _unit(line.row) if line.row is not None else None
        if unit is not None and unit in out.done:
            line = _Line(line.number, line.text, None, "a second record of a finished unit")
        if line.row is None:
            _set_aside(store.records_path, line, out)
            continue
        out.done.add(_unit(line.row))
        kept_records.append(line.text)
    if torn:
        out.notes.append(f"{store.records_path}: dropped a final line cut short (no newline)")
    samples, torn_samples = _parse(store.samples_path, SampleRow)
    kept_samples, orphans = [], 0
    for line in samples:
        if line.row is None:
            _set_aside(store.samples_path, line, out)
        elif _unit(line.row) in out.done:
            kept_samples.append(line.text)
        else:
            orphans += 1  # written before a record that never came: the unit runs again
    if orphans or torn_samples:
        out.notes.append(
            f"{store.samples_path}: dropped {orphans + torn_samples} sample row(s) of "
            "unfinished units (they run again)"
        )
    _rewrite(store.records_path, kept_records)
    _rewrite(store.samples_path, kept_samples)
    return out


def _unit(row: dict[str, Any]) -> tuple[str, str]:
    return (str(row.get("variant_id")), str(row.get("task")))


def _set_aside(path: Path, line: _Line, out: Repair) -> None:
    side = path.with_name(path.name + DAMAGED_SUFFIX)
    note = {
        "line": line.number,
        "why": line.why,
        "set_aside_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "text": line.text.rstrip("\r\n"),
    }
    _append(side, json.dumps(note, ensure_ascii=False) + "\n")
    out.notes.append(f"{path}:{line.number}: {line.why}; set aside in {side}")


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _rewrite(path: Path, lines: list[str]) -> None:
    """Replace `path` atomically with `lines` (each ends with its newline)."""
    if not path.exists() and not lines:
        return
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.writelines(line if line.endswith("\n") else line + "\n" for line in lines)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
