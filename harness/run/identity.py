"""The identity of a loaded model: its source, engine and a digest of the weights it read.

The gate compares it (with parameter count, task version and knobs) so that another model's
outputs under the same variant id fail closed instead of being judged as a change.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from harness.store.runfiles import ModelIdentity
from harness.suite.schema import ModelConfig

WEIGHT_SUFFIXES = (".safetensors", ".gguf", ".bin", ".pt", ".pth")


def _configured(source: object) -> str:
    from pydantic import BaseModel

    if isinstance(source, BaseModel):
        return source.model_dump_json()
    return str(source)


def _local_path(loaded_from: str) -> Path | None:
    """The file or folder a backend says it loaded (backends may append a note in
    parentheses, e.g. '(GGUF, dequantized)'); None for hub ids and server URLs."""
    for candidate in (loaded_from, loaded_from.split(" (", 1)[0]):
        path = Path(candidate)
        if candidate and path.exists():
            return path
    return None


def _folder_digest(folder: Path) -> tuple[str | None, str]:
    from harness.suite.sources import sha256_of

    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    if not files:
        return None, f"no weight files ({', '.join(WEIGHT_SUFFIXES)}) in {folder}"
    combined = hashlib.sha256()
    for file in files:
        combined.update(f"{file.relative_to(folder)}:{sha256_of(file)}\n".encode())
    return combined.hexdigest(), f"sha256 over the {len(files)} weight files of {folder}"


def model_identity(cfg: ModelConfig, loaded_from: str) -> ModelIdentity:
    """Hashing reuses the cache's per-(path, size, mtime) digests, so it costs nothing after
    a model's first load."""
    from harness.suite.sources import sha256_of

    path = _local_path(loaded_from)
    if path is None:
        digest, note = None, f"not hashed: '{loaded_from}' is not a local file or folder"
    elif path.is_file():
        digest, note = sha256_of(path), f"sha256 of {path.name}"
    else:
        digest, note = _folder_digest(path)
    return ModelIdentity(
        source=_configured(cfg.source), engine=cfg.backend, digest=digest, digest_note=note
    )
