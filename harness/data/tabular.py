"""Row-per-sample sources: JSON lines, CSV, fastText label lines and SQLite queries."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from harness.core.errors import UserError, did_you_mean
from harness.core.lines import newline_lines
from harness.data.base import Sample, SourceOptions, make_sample, read_text, register_loader


class TableOptions(SourceOptions):
    label_field: str | None = None
    fields: dict[str, str] | None = None  # new name -> column name


class CsvOptions(TableOptions):
    delimiter: str = ","


class SqliteOptions(TableOptions):
    query: str


# A row's place in its file, for messages: "path:line" (jsonl, csv) or "path: row n" (sqlite).
Located = tuple[str, Any]
_SCALAR = (str, int, float, bool)


def _rows_to_samples(rows: list[Located], options: TableOptions) -> list[Sample]:
    """Samples from (where, row) pairs; the first row that is not an object, lacks a column
    the task names or holds a non-scalar label is the user's error, named by file and line."""
    wanted = dict(options.fields or {})
    if options.label_field:
        wanted.setdefault(options.label_field, options.label_field)
    samples = []
    for where, row in rows:
        if not isinstance(row, dict):
            raise UserError(
                f"{where}: the row is a JSON {_json_type(row)}, not an object of fields "
                '(each line must look like {"text": ..., "label": ...})'
            )
        for key, column in wanted.items():
            if column not in row:
                raise UserError(
                    f"{where}: no key '{column}' (the task's 'source."
                    f"{_option_of(key, options)}' names it){did_you_mean(column, row)}"
                )
        label = None if options.label_field is None else row[options.label_field]
        if options.label_field is not None and not isinstance(label, _SCALAR):
            raise UserError(
                f"{where}: key '{options.label_field}' is a {_json_type(label)}; a label must "
                "be a string, number or boolean"
            )
        fields = {new: row[old] for new, old in (options.fields or {}).items()} or row
        text = None if label is None else str(label)
        sample = make_sample({**fields, **({"label": text} if text else {})}, text)
        samples.append(replace(sample, extra={"origin": where}))
    return samples


def _option_of(key: str, options: TableOptions) -> str:
    return "label_field" if key == options.label_field else f"fields.{key}"


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def records_of(text: str) -> list[str]:
    """One record per line, without its '\n' or '\r\n' (`harness.core.lines`)."""
    return [line.removesuffix("\n").removesuffix("\r") for line in newline_lines(text)]


@register_loader("jsonl", TableOptions)
def load_jsonl(options: TableOptions, path: Path) -> list[Sample]:
    rows: list[Located] = []
    for number, line in enumerate(records_of(read_text(path, options.encoding)), start=1):
        if not line.strip():
            continue
        try:
            rows.append((f"{path}:{number}", json.loads(line)))
        except json.JSONDecodeError as err:
            raise UserError(f"{path}:{number}: not valid JSON ({err.msg})") from None
    return _rows_to_samples(rows, options)


@register_loader("csv", CsvOptions)
def load_csv(options: CsvOptions, path: Path) -> list[Sample]:
    text = read_text(path, options.encoding)
    reader = csv.DictReader(io.StringIO(text), delimiter=options.delimiter)
    rows: list[Located] = []
    try:
        for row in reader:
            rows.append((f"{path}:{reader.line_num}", {k: v for k, v in row.items() if k}))
    except csv.Error as err:
        raise UserError(f"{path}:{reader.line_num}: not valid CSV ({err})") from None
    return _rows_to_samples(rows, options)


@register_loader("fasttext", TableOptions)
def load_fasttext(options: TableOptions, path: Path) -> list[Sample]:
    """`__label__x text` lines -> {"text", "label"} rows, labelled for stratification."""
    rows = []
    for line in records_of(read_text(path, options.encoding)):
        labels = [w[len("__label__") :] for w in line.split() if w.startswith("__label__")]
        text = " ".join(w for w in line.split() if not w.startswith("__label__"))
        if labels and text:
            rows.append(make_sample({"text": text, "label": labels[0]}, labels[0]))
    return rows


@register_loader("sqlite", SqliteOptions)
def load_sqlite(options: SqliteOptions, path: Path) -> list[Sample]:
    """Rows of a read-only query; the query lives in the task YAML."""
    conn = _open_read_only(path)
    try:
        conn.row_factory = sqlite3.Row
        found = conn.execute(options.query).fetchall()
    except sqlite3.DatabaseError as err:
        only = " (a task's query may only read: SELECT)" if "not authorized" in str(err) else ""
        raise UserError(f"{path}: query in 'source.query' failed: {err}{only}") from None
    finally:
        conn.close()
    rows = [(f"{path}: row {n} of 'source.query'", dict(r)) for n, r in enumerate(found, 1)]
    return _rows_to_samples(rows, options)


# What a task's query may do: read tables and call functions. `mode=ro` alone still lets a
# query write other files (`VACUUM INTO '/any/path'`, `ATTACH 'file:x?mode=rwc'`), and a
# task file may come from someone else.
_QUERY_MAY = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)


def _only_reads(action: int, *_: str | None) -> int:
    return sqlite3.SQLITE_OK if action in _QUERY_MAY else sqlite3.SQLITE_DENY


def _open_read_only(path: Path) -> sqlite3.Connection:
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"  # quoted: a '?' or '#' in the path
    try:
        conn = sqlite3.connect(uri, uri=True)
        conn.execute("PRAGMA query_only = ON")
    except sqlite3.DatabaseError as err:
        raise UserError(f"{path}: not a readable SQLite database ({err})") from None
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.set_authorizer(_only_reads)
    return conn
