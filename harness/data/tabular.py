"""Row-per-sample sources: JSON lines, CSV, fastText label lines and SQLite queries."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

from harness.data.base import Sample, SourceOptions, make_sample, read_text, register_loader
from harness.errors import UserError, did_you_mean


class TableOptions(SourceOptions):
    label_field: str | None = None
    fields: dict[str, str] | None = None  # new name -> column name


class CsvOptions(TableOptions):
    delimiter: str = ","


class SqliteOptions(TableOptions):
    query: str


def _rows_to_samples(rows: list[dict[str, Any]], options: TableOptions, path: Path) -> list[Sample]:
    if not rows:
        return []
    columns = list(rows[0])
    wanted = dict(options.fields or {})
    if options.label_field:
        wanted.setdefault(options.label_field, options.label_field)
    for column in wanted.values():
        if column not in columns:
            raise UserError(f"{path}: no column '{column}'{did_you_mean(column, columns)}")
    samples = []
    for row in rows:
        fields = {new: row[old] for new, old in (options.fields or {}).items()} or row
        label = None if options.label_field is None else str(row[options.label_field])
        samples.append(make_sample({**fields, **({"label": label} if label else {})}, label))
    return samples


@register_loader("jsonl", TableOptions)
def load_jsonl(options: TableOptions, path: Path) -> list[Sample]:
    rows = []
    for number, line in enumerate(read_text(path, options.encoding).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise UserError(f"{path}: line {number} is not valid JSON ({err.msg})") from None
    return _rows_to_samples(rows, options, path)


@register_loader("csv", CsvOptions)
def load_csv(options: CsvOptions, path: Path) -> list[Sample]:
    text = read_text(path, options.encoding)
    rows = list(csv.DictReader(io.StringIO(text), delimiter=options.delimiter))
    return _rows_to_samples(rows, options, path)


@register_loader("fasttext", TableOptions)
def load_fasttext(options: TableOptions, path: Path) -> list[Sample]:
    """`__label__x text` lines -> {"text", "label"} rows, labelled for stratification."""
    rows = []
    for line in read_text(path, options.encoding).splitlines():
        labels = [w[len("__label__") :] for w in line.split() if w.startswith("__label__")]
        text = " ".join(w for w in line.split() if not w.startswith("__label__"))
        if labels and text:
            rows.append(make_sample({"text": text, "label": labels[0]}, labels[0]))
    return rows


@register_loader("sqlite", SqliteOptions)
def load_sqlite(options: SqliteOptions, path: Path) -> list[Sample]:
    """Rows of a read-only query; the query lives in the task YAML."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            conn.row_factory = sqlite3.Row
            rows = [dict(r) for r in conn.execute(options.query).fetchall()]
    except sqlite3.Error as err:
        raise UserError(f"{path}: query in 'source.query' failed: {err}") from None
    return _rows_to_samples(rows, options, path)
