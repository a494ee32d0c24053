"""Seeded, stratified selection of rows: never "the first N"."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from harness.data.base import Sample


def select(rows: Sequence[Sample], n: int | None, seed: int) -> list[Sample]:
    """Pick n rows, proportionally per label where rows have labels, in a stable order.

    Sorting by id before shuffling makes the choice independent of file order, so the same
    seed picks the same samples even if the source is reordered.
    """
    ordered = sorted(rows, key=lambda r: r.id)
    if n is None or n >= len(ordered):
        return ordered
    rng = random.Random(seed)
    strata: dict[str | None, list[Sample]] = defaultdict(list)
    for row in ordered:
        strata[row.label].append(row)
    for members in strata.values():
        rng.shuffle(members)
    quotas = _quotas({k: len(v) for k, v in strata.items()}, n)
    picked = [row for key, members in strata.items() for row in members[: quotas[key]]]
    return sorted(picked, key=lambda r: r.id)


def _quotas(sizes: dict[str | None, int], n: int) -> dict[str | None, int]:
    """Largest-remainder apportionment of n over strata, each at least one when possible."""
    total = sum(sizes.values())
    exact = {k: n * size / total for k, size in sizes.items()}
    quotas = {k: int(v) for k, v in exact.items()}
    by_remainder = sorted(sizes, key=lambda k: (exact[k] - quotas[k], str(k)), reverse=True)
    for key in by_remainder[: n - sum(quotas.values())]:
        quotas[key] += 1
    return quotas
