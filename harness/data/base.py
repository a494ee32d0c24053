"""What a loader is and how a task's `source` section reaches one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from harness.config import validate
from harness.errors import UserError
from harness.registry import Registry


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
    """Validate a task's `source` section and load every row, de-duplicated by id."""
    name = source.get("format")
    if not isinstance(name, str):
        raise UserError(f"{where}: missing required key 'source.format'")
    loader = LOADERS.get(name, where=f"{where}: key 'source.format'")
    options = validate(loader.options, source, where, prefix="source")
    from harness.assets import resolve_local

    path = resolve_local(options.path, base_dir) if loader.resolve_path else Path(options.path)
    rows = loader.load(options, path)
    if not rows:
        raise UserError(f"{where}: source '{options.path}' holds no usable rows")
    return _dedupe(rows)


def _dedupe(rows: Sequence[Sample]) -> list[Sample]:
    seen: dict[str, Sample] = {}
    for row in rows:
        seen.setdefault(row.id, row)
    return list(seen.values())


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
