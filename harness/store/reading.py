"""Strict reading of a run's JSONL files for `report` and `gate`: a damaged line is an error
naming the file and line, never a silent stop.

Only one kind of damage is expected and tolerated: a final line with no newline, which a run
killed (or still running) mid-append leaves behind; that unit never finished, so it is
skipped and counted. Anything else — a line that is not JSON, or JSON that is not a record or
a sample row — means the file was edited or written by something else, and reading on would
silently drop or mis-join units.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from harness.core.errors import UserError
from harness.core.lines import newline_lines

Row = TypeVar("Row", bound=BaseModel)


@dataclass(frozen=True)
class ReadLines(Generic[Row]):
    """Parsed rows with their 1-based line numbers, and whether a torn final line was seen."""

    rows: list[Row] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)
    torn_final_line: bool = False


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the line"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def read_rows(path: Path, model: type[Row], what: str) -> ReadLines[Row]:
    """Every line of `path` as a `model`; UserError (exit 2) at the first damaged line."""
    if not path.exists():
        return ReadLines()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot be read ({err})") from None
    lines = newline_lines(text)
    rows: list[Row] = []
    numbers: list[int] = []
    for number, line in enumerate(lines, start=1):
        if not line.endswith("\n"):  # only the last line can lack one
            return ReadLines(rows, numbers, torn_final_line=True)
        if not line.strip():
            raise UserError(_damaged(path, number, "an empty line"))
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise UserError(_damaged(path, number, f"not JSON ({err.msg})")) from None
        try:
            rows.append(model.model_validate(data))
        except ValidationError as err:
            raise UserError(_damaged(path, number, f"not {what}: {_first_error(err)}")) from None
        numbers.append(number)
    return ReadLines(rows, numbers)


def _damaged(path: Path, number: int, problem: str) -> str:
    return (
        f"{path}:{number}: {problem}. The run file is damaged, so its units cannot be read "
        "reliably; nothing was skipped. Restore the file, or remove or repair that line "
        "(`limitbench run --resume` on the run sets damaged lines aside)."
    )


def note_unfinished(path: Path) -> None:
    """Say (on stderr, not in the report) that a unit being written was left out."""
    print(
        f"note: {path} ends in a line still being written (a run in progress, or one killed "
        "mid-unit); that unit is left out until it finishes or `--resume` completes it",
        file=sys.stderr,
    )
