"""SQuAD-format JSON and Hugging Face datasets (hub ids or local data files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.core.errors import UserError, did_you_mean
from harness.core.hub_errors import hub_unreachable, is_unreachable
from harness.data.base import Sample, SourceOptions, make_sample, read_text, register_loader


class SquadOptions(SourceOptions):
    pass


@register_loader("squad", SquadOptions)
def load_squad(options: SquadOptions, path: Path) -> list[Sample]:
    """The official nested SQuAD JSON ({"data": [{"paragraphs": [{"context", "qas"}]}]}) as
    flat rows {id, title, context, question, answers: {text: [...], answer_start: [...]}}."""
    try:
        data = json.loads(read_text(path, options.encoding))["data"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise UserError(
            f"{path}: not SQuAD-format JSON (need data/paragraphs/qas): {err}"
        ) from None
    rows = []
    try:
        for article in data:
            for paragraph in article.get("paragraphs", []):
                for qa in paragraph.get("qas", []):
                    rows.append(make_sample(_squad_row(article, paragraph, qa)))
    except (KeyError, TypeError, AttributeError) as err:
        where = f"question {len(rows) + 1}"
        raise UserError(
            f"{path}: {where} is not SQuAD-shaped (missing or wrong {err}); each question "
            "needs 'question' and its paragraph 'context'"
        ) from None
    return rows


def _squad_row(article: Any, paragraph: Any, qa: Any) -> dict[str, Any]:
    answers = qa.get("answers", [])
    return {
        "id": qa.get("id"),
        "title": article.get("title", ""),
        "context": paragraph["context"],
        "question": qa["question"],
        "answers": {
            "text": [a["text"] for a in answers],
            "answer_start": [a.get("answer_start") for a in answers],
        },
    }


class HubOptions(SourceOptions):
    """`path` is a dataset id on the hub or a builder name such as `json` with data_files."""

    name: str | None = None
    split: str = "test"
    data_files: list[str] | None = None
    revision: str | None = None
    label_field: str | None = None


@register_loader("hf", HubOptions, resolve_path=False)
def load_hub(options: HubOptions, path: Path) -> list[Sample]:
    import datasets

    kwargs: dict[str, Any] = {"split": options.split, "revision": options.revision}
    if options.data_files:
        kwargs["data_files"] = options.data_files
    try:
        table = datasets.load_dataset(options.path, options.name, **kwargs)
    except Exception as err:  # datasets raises many types (network, missing split, ...)
        if is_unreachable(err):
            raise hub_unreachable(
                "dataset",
                options.path,
                "key 'source.path' =",
                "download its files and point 'source' at them (format jsonl, csv, or hf "
                "with path 'json' and 'data_files')",
            ) from None
        raise UserError(
            f"dataset '{options.path}' did not load: {type(err).__name__}: {err}"
        ) from None
    rows = []
    for number, row in enumerate(table, start=1):
        if options.label_field is not None and options.label_field not in row:
            raise UserError(
                f"dataset '{options.path}' row {number}: no key '{options.label_field}' "
                f"(the task's 'source.label_field'){did_you_mean(options.label_field, row)}"
            )
        label = None if options.label_field is None else str(row[options.label_field])
        rows.append(make_sample(dict(row), label))
    return rows
