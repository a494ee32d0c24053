"""What a loader is and how a task's `source` section reaches one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from harness.core.errors import UserError
from harness.core.registry import Registry
from harness.suite.schema import validate


@dataclass(frozen=True)
class Sample:
    """One dataset row. `id` is a content hash, so it is stable across runs and orderings."""

    id: str
    fields: Mapping[str, Any]
    label: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def make_sample(fields: Mapping[str, Any], label: str | None = None) -> Sample:
    digest = hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode("utf-8"))
    return Sample(id=digest.hexdigest()[:12], fields=dict(fields), label=label)


class SourceOptions(BaseModel):
    """Keys common to every source; each loader extends this with its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str
    path: str
    encoding: str = "utf-8"
    # Rows that repeat an earlier row exactly are scored like any other (as lm-eval does);
    # `drop` keeps the first of each, and the record's conventions say so.
    duplicates: Literal["keep", "drop"] = "keep"


@dataclass(frozen=True)
class Rows:
    """A source's rows as the task uses them, and what was done with exact repeats."""

    samples: list[Sample]
    n_duplicates: int  # rows equal to an earlier row
    duplicates: str  # keep | drop


LoadFn = Callable[[Any, Path], list[Sample]]


@dataclass(frozen=True)
class Loader:
    options: type[SourceOptions]
    load: LoadFn
    resolve_path: bool = True  # False when `path` is not a file (a hub dataset id)


LOADERS: Registry[Loader] = Registry("data format", builtins=("harness.data",))


def register_loader(
    name: str, options: type[SourceOptions], resolve_path: bool = True
) -> Callable[[LoadFn], LoadFn]:
    def decorate(fn: LoadFn) -> LoadFn:
        LOADERS.register(name)(Loader(options=options, load=fn, resolve_path=resolve_path))
        return fn

    return decorate


def load_source(source: Mapping[str, Any], where: str, base_dir: Path) -> list[Sample]:
    """Validate a task's `source` section and load its rows (see `load_rows`)."""
    return load_rows(source, where, base_dir).samples


def load_rows(source: Mapping[str, Any], where: str, base_dir: Path) -> Rows:
    """Validate a task's `source` section and load every row, each with a unique id."""
    name = source.get("format")
    if not isinstance(name, str):
        raise UserError(f"{where}: missing required key 'source.format'")
    loader = LOADERS.get(name, where=f"{where}: key 'source.format'")
    options = validate(loader.options, source, where, prefix="source")
    from harness.suite.sources import resolve_local

    path = resolve_local(options.path, base_dir) if loader.resolve_path else Path(options.path)
    rows = loader.load(options, path)
    if not rows:
        raise UserError(f"{where}: source '{options.path}' holds no usable rows")
    unique, repeats = number_repeats(rows)
    kept = [r for r in unique if r.id not in repeats] if options.duplicates == "drop" else unique
    return Rows(kept, len(repeats), options.duplicates)


def number_repeats(rows: Sequence[Sample]) -> tuple[list[Sample], set[str]]:
    """Every row with an id of its own, and the ids given to repeats. A row's id is its
    content hash, so the k-th repeat (k >= 1) of a row gets `<hash>~k`: ids of rows that
    occur once are unchanged, and runs from before repeats were kept still pair with them."""
    seen: dict[str, int] = {}
    out, repeats = [], set()
    for row in rows:
        count = seen.get(row.id, 0)
        seen[row.id] = count + 1
        if count:
            row = replace(row, id=f"{row.id}~{count}")
            repeats.add(row.id)
        out.append(row)
    return out, repeats


def ids_digest(samples: Sequence[Sample]) -> str:
    """sha256 of the samples' ids in order (the ids are content hashes)."""
    return hashlib.sha256("\n".join(s.id for s in samples).encode("utf-8")).hexdigest()


def read_text(path: Path, encoding: str) -> str:
    """Decode a file, naming the file and byte offset on failure."""
    try:
        return path.read_bytes().decode(encoding)
    except UnicodeDecodeError as err:
        raise UserError(
            f"{path}: not valid {encoding} text ({err.reason} at byte {err.start}); "
            f"set the task's 'source.encoding' key (e.g. cp1252 or latin-1)"
        ) from None
    except LookupError:
        raise UserError(f"{path}: unknown encoding '{encoding}' in 'source.encoding'") from None
