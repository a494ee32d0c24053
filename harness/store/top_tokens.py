"""A reference unit's top-k token distributions, kept in the run folder so that the units
compared with it can be scored against it later in the run or after a resume.

One compressed numpy archive per unit, `top_tokens/<digest>.npz`, holding the unit's key, each
sample's id and the concatenated arrays with per-sample lengths; written to a temporary name,
synced and renamed, so a killed run never leaves half a file under the real name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.core.requests import TopTokens

FOLDER = "top_tokens"
UnitKey = tuple[str, str]


def top_tokens_path(root: Path, unit: UnitKey) -> Path:
    digest = hashlib.sha256("\n".join(unit).encode()).hexdigest()[:16]
    return root / FOLDER / f"{digest}.npz"


def save_top_tokens(
    root: Path, unit: UnitKey, sample_ids: Sequence[str], tops: Sequence[TopTokens]
) -> None:
    path = top_tokens_path(root, unit)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    with partial.open("wb") as out:
        np.savez_compressed(
            out,
            unit=np.array(unit),
            sample_ids=np.array(list(sample_ids)),
            lengths=np.array([len(t.targets) for t in tops], dtype=np.int64),
            targets=np.concatenate([t.targets for t in tops]),
            ids=np.concatenate([t.ids for t in tops]),
            logprobs=np.concatenate([t.logprobs for t in tops]),
        )
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


def load_top_tokens(root: Path, unit: UnitKey) -> dict[str, TopTokens] | None:
    """Each sample's distributions by sample id; None when the unit kept none here."""
    path = top_tokens_path(root, unit)
    if not path.is_file():
        return None
    with np.load(path) as found:
        if tuple(found["unit"]) != unit:
            return None  # a digest collision: never compare with another unit's tokens
        ends = np.cumsum(found["lengths"])
        starts = ends - found["lengths"]
        targets, ids, logprobs = found["targets"], found["ids"], found["logprobs"]
        return {
            str(sample): TopTokens(targets[a:b], ids[a:b], logprobs[a:b])
            for sample, a, b in zip(found["sample_ids"], starts, ends, strict=True)
        }
