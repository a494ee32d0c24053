"""Reading suite, task and rules files: safe YAML, with limits a shared file cannot get past.

A suite or task file may come from someone else. PyYAML builds an alias once and shares it,
so a few hundred bytes of nested aliases stand for billions of values; nothing breaks until a
validator or an error message walks them (2.2 GB and a 312 MB message in the audit of issue
37). The composed document is therefore measured before anything is built from it.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml

from harness.core.errors import UserError

MAX_FILE_BYTES = 4 * 2**20  # the largest shipped suite or task file is a few kB
MAX_EXPANDED_VALUES = 100_000  # values the document stands for, every alias expanded


class UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key given twice in one mapping (PyYAML keeps the last,
    so an edited value can be silently overridden further down the file)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, typing.Hashable) and key in seen:
                first = seen[key].start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key '{short(str(key))}' (first given at line {first})",
                    key_node.start_mark,
                )
            if isinstance(key, typing.Hashable):
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def short(text: str, limit: int = 80) -> str:
    """At most `limit` characters of an input, for messages: never echo a whole input."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def read_yaml(path: Path) -> dict[str, Any]:
    """Safe-load a YAML mapping, with errors that say where the file went wrong."""
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise UserError(
            f"{path}: {path.stat().st_size} bytes; a suite or task file is at most "
            f"{MAX_FILE_BYTES} bytes"
        )
    try:
        data = _load_bounded(path.read_text(encoding="utf-8"), path)
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise UserError(f"{path}: malformed YAML{where}: {short(problem, 200)}") from err
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of keys at the top level")
    return data


def _load_bounded(text: str, path: Path) -> Any:
    loader = UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            expanded = _expanded_size(node, {}, set())
        except RecursionError:
            raise UserError(f"{path}: YAML nested too deeply") from None
        except _SelfReference as err:
            raise UserError(f"{path}: the YAML alias at line {err.line} refers to itself") from None
        if expanded > MAX_EXPANDED_VALUES:
            raise UserError(
                f"{path}: its YAML aliases (*name) expand to more than {MAX_EXPANDED_VALUES} "
                "values; refused, as a file this size cannot mean that many (an alias bomb). "
                "Write the values out, or use fewer aliases"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


class _SelfReference(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """How many values the node stands for once every alias is copied out: an alias is the
    very node it names, so each node is measured once and counted as often as it is used."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:  # an alias inside its own anchor: an endless document
        raise _SelfReference(node.start_mark.line + 1)
    open_nodes.add(key)
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(child, sizes, open_nodes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            total += _expanded_size(key_node, sizes, open_nodes)
            total += _expanded_size(value_node, sizes, open_nodes)
    open_nodes.discard(key)
    sizes[key] = min(total, MAX_EXPANDED_VALUES + 1)  # capped: no huge integers either
    return sizes[key]
