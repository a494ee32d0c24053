"""Repair of a run folder before a resume: nothing is deleted.

A unit is finished when its record line is complete and every one of its sample rows is
intact. Repair keeps every complete, valid record line and the sample rows of finished units.
A damaged line anywhere (not JSON, not a valid row, a second record of a unit already
recorded) is moved to `<file>.damaged` with its line number and reported; the lines after it
are kept. A unit with a damaged sample row is not finished: its record and its intact rows
are set aside too, and it runs again (else the run would be one sample short for good). The
sample rows of units with no record (a kill between samples and record, or a damaged record
line) are set aside as well, so such a unit can be restored by hand. Only a final line
without its newline (a write cut short by a kill) is dropped. Readers (`RunStore.records()`)
have their own, stricter parsing.
"""

from __future__ import annotations

import json
import os
import re
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
    """Set damaged lines aside, keep every finished unit, set unfinished units' rows aside."""
    out = Repair()
    samples, torn_samples = _parse(store.samples_path, SampleRow)
    broken = {_unit_named_in(line.text) for line in samples if line.row is None} - {None}
    records, torn = _parse(store.records_path, Record)
    kept_records = []
    for line in records:
        unit = _unit(line.row) if line.row is not None else None
        if unit is not None and unit in out.done:
            line = _Line(line.number, line.text, None, "a second record of a finished unit")
        elif unit in broken:
            line = _Line(line.number, line.text, None, _RERUN)
        if line.row is None:
            _set_aside(store.records_path, line, out)
            continue
        out.done.add(_unit(line.row))
        kept_records.append(line.text)
    if torn:
        out.notes.append(f"{store.records_path}: dropped a final line cut short (no newline)")
    kept_samples, unfinished = [], []
    for line in samples:
        if line.row is None:
            _set_aside(store.samples_path, line, out)
        elif _unit(line.row) in out.done:
            kept_samples.append(line.text)
        else:  # written before a record that never came (or was set aside): runs again
            unfinished.append(_Line(line.number, line.text, line.row, _UNFINISHED))
    _set_aside_rows(store.samples_path, unfinished, out)
    if torn_samples:
        out.notes.append(f"{store.samples_path}: dropped a final line cut short (no newline)")
    _rewrite(store.records_path, kept_records)
    _rewrite(store.samples_path, kept_samples)
    return out


_RERUN = "its unit has a damaged sample row, so it runs again"
_UNFINISHED = "a sample row of a unit with no valid record (the unit runs again)"
_NAMED = {key: re.compile(rf'"{key}"\s*:\s*"((?:[^"\\]|\\.)*)"') for key in ("variant_id", "task")}


def _unit_named_in(text: str) -> tuple[str, str] | None:
    """The unit a damaged line names, if its variant_id and task can still be read."""
    found = [_NAMED[key].search(text) for key in ("variant_id", "task")]
    if found[0] is None or found[1] is None:
        return None
    try:
        return (json.loads(f'"{found[0][1]}"'), json.loads(f'"{found[1][1]}"'))
    except json.JSONDecodeError:
        return None


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


def _set_aside_rows(path: Path, lines: list[_Line], out: Repair) -> None:
    """Set many rows aside with one note (a unit can have thousands of samples)."""
    if not lines:
        return
    side = path.with_name(path.name + DAMAGED_SUFFIX)
    when = datetime.now(UTC).isoformat(timespec="seconds")
    notes = [
        {
            "line": line.number,
            "why": line.why,
            "set_aside_at": when,
            "text": line.text.rstrip("\r\n"),
        }
        for line in lines
    ]
    _append(side, "".join(json.dumps(note, ensure_ascii=False) + "\n" for note in notes))
    units = len({_unit(line.row) for line in lines if line.row is not None})
    out.notes.append(
        f"{path}: set {len(lines)} sample row(s) of {units} unfinished unit(s) aside in {side} "
        "(the units run again)"
    )


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
