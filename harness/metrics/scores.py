"""The per-sample score rows every reducer reads: one mapping of score name to number per
sample, as adapters return them and samples.jsonl stores them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Scores = Sequence[Mapping[str, float]]
